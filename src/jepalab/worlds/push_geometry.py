"""The push worlds' sizes, shared by the world (worlds/push.py) and its scripted experts
(worlds/push_expert.py), in arena units (the unit square)."""

PUSHER_RADIUS = 0.04
MAX_STEP = 0.04  # the farthest the pusher moves in one step
BOX = [(-0.06, -0.06, 0.06, 0.06)]  # rectangles (x0, y0, x1, y1) in the block's frame
T_SHAPE = [(-0.1, -0.055, 0.1, -0.015), (-0.02, -0.015, 0.02, 0.105)]  # the bar and the stem; centre of mass ~0
