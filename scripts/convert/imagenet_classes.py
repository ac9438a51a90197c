"""Writes imagenet_classes.json: the 1,000 ImageNet-1k class names in label order.

The names come from Debian's python3-torchvision (apt-get install -y python3-torchvision),
which lists them with duplicates already told apart; the converter reads the JSON, so it does
not need torchvision itself. Run: /usr/bin/python3 scripts/convert/imagenet_classes.py
"""

import json
import os

from torchvision.models._meta import _IMAGENET_CATEGORIES as NAMES

assert len(NAMES) == 1000 and len(set(NAMES)) == 1000
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "imagenet_classes.json")
with open(path, "w") as f:
    json.dump(list(NAMES), f, indent=0)
    f.write("\n")
print(path)
