"""``PredictionVisualizationHook``: pictures of test predictions (``tools/test.py --show-dir``)."""
import os

from mmengine.hooks import Hook

from mplug_registry.registry import HOOKS


@HOOKS.register_module()
class PredictionVisualizationHook(Hook):
    """After each test batch, write each sample's image with its prediction drawn on it.

    Args:
        out_dir: where the PNG files go.
        max_images: stop after this many pictures (0 = all).
    """

    def __init__(self, out_dir, max_images=100):
        self.out_dir, self.max_images, self.count = out_dir, max_images, 0

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        from PIL import Image

        from mplug_registry.visualize import draw_prediction
        os.makedirs(self.out_dir, exist_ok=True)
        classes = runner.test_dataloader.dataset.metainfo.get('classes')
        inputs = data_batch['inputs']   # collated: {'images': [per-sample tensors]} or a list
        images = inputs['images'] if isinstance(inputs, dict) else [
            x['images'] if isinstance(x, dict) else x for x in inputs]
        for image, sample in zip(images, outputs or []):
            if self.max_images and self.count >= self.max_images:
                return
            name = sample.metainfo.get('sample_idx', self.count)
            Image.fromarray(draw_prediction(image, sample, classes)).save(
                os.path.join(self.out_dir, f'{name}.png'))
            self.count += 1


@HOOKS.register_module()
class ValidateAtStartHook(Hook):
    """Run the validation loop once before the first training iteration, so that the log holds
    the metrics at step 0 beside those of the trained model (``tools/train.py --val-at-start``).

    Skipped when resuming (the run is past step 0) or without a validation loop.
    """
    priority = 'VERY_LOW'   # after the other hooks' before_train (weights loaded, seeds set)

    def before_train(self, runner):
        if runner.iter > 0 or runner.val_loop is None:
            return
        runner.logger.info('validation at step 0 (before training):')
        runner.val_loop.run()
