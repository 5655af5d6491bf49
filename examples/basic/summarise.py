"""Prints one tab-separated line per probed video: the dataset summary."""
import json
import sys

note, paths = sys.argv[1], sys.argv[2:]
print("file\tcodec\tsize\tfps\tframes\tduration\tnote")
for path in paths:
    with open(path) as f:
        m = json.load(f)
    print(f"{path}\t{m['codec']}\t{m['width']}x{m['height']}\t{m['fps']:.3f}\t"
          f"{m['frames']}\t{m['duration']:.3f}\t{note}")
