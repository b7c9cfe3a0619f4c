# Grounding head for the width-128 modules of pair_encoders_w128.py, in patch mode: the
# expression's fused [CLS] scores every visual patch, the patch holding the box centre is the
# target of a cross-entropy, and an MLP regresses the box from that patch (L1 + GIoU).
grounding_head = dict(type='GroundingHead', mode='patch', embed_dims=128, loss_l1_weight=5.0,
                      loss_giou_weight=2.0)
