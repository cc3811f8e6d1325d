"""A small inventory module: the file `quill demo` opens in a real LSP session."""
import json
import os
from dataclasses import dataclass, field


@dataclass
class Item:
    name: str
    price: float
    tags: list = field(default_factory=list)

    def total(self, quantity):
        return self.price * quantity


class Inventory:
    def __init__(self, name):
        self.name = name
        self.items = {}

    def add(self, item):
        if item.name in self.items:
            raise ValueError("duplicate item: %s" % item.name)
        self.items[item.name] = item

    def remove(self, name):
        return self.items.pop(name, None)

    def __len__(self):
        return len(self.items)

    def __iter__(self):
        return iter(self.items.values())

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump({name: item.price for name, item in self.items.items()}, f)

    def load(self, path):
        if not os.path.exists(path):
            return
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        for name, price in data.items():
            self.add(Item(name, price))


def main(args):
    inventory = Inventory("shop")
    for arg in args:
        inventory.add(Item(arg, 1.0))
    print(len(inventory))
    return 0
