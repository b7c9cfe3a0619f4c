# The referring expressions of the generated "shapes" set in the RefCOCO layout (refs(unc).p +
# instances.json; tools/make_shapes.py): one sample per expression, gt_bboxes [1, 4] xyxy, which
# ImageResize scales with the image. The training split at 96 pixels; the configs that use it set
# the split, the pipeline or the share of the expressions (`fraction`) they need.
refcoco_shapes = dict(
    type='RefCOCODataset', data_root='data/shapes', ann_file='annotations/refs(unc).p',
    instances_file='annotations/instances.json', data_prefix=dict(img_path='images/'),
    split='train', pipeline=[dict(type='ImageResize', size=96), dict(type='PackMultimodalInputs')])
