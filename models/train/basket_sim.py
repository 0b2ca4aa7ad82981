"""Shopping-basket simulator for the recommender (seeded, deterministic).

A basket is built from the shopper's segment and a few shopping "missions". A mission is a set of
complementary slots (pasta night: pasta + pasta sauce + cheese + oil; breakfast: cereal + milk +
juice; snacks + drinks; shampoo + soap + household ...); each slot is taken with its probability
and names one category, or several alternative categories. Impulse items (drawn by category
popularity) are added on top.

Inside a category the SKUs are substitutes: the shopper takes one of them (a multinomial choice
driven by catalog popularity, the segment's price sensitivity and a per-segment taste), except in a
few "variety" categories (yogurt, tea, candy ...) where a second flavour is sometimes taken.

    python basket_sim.py        # prints a few baskets and summary statistics
"""

import json
import pathlib

import numpy as np

CATALOG = pathlib.Path(__file__).resolve().parent.parent / "data" / "demo-catalog.json"

# mission -> list of (alternative categories, probability the slot is in the basket)
MISSIONS = {
    "pasta_night": [(["dry pasta", "fresh pasta"], 0.95), (["pasta sauce"], 0.75),
                    (["packaged cheese", "specialty cheeses"], 0.45), (["oils vinegars"], 0.2),
                    (["spices seasonings"], 0.2)],
    "breakfast": [(["cereal", "granola", "hot cereal pancake mixes"], 0.9), (["milk", "soy lactosefree"], 0.8),
                  (["juice nectars"], 0.4), (["yogurt"], 0.3), (["breakfast bars pastries"], 0.2),
                  (["coffee"], 0.2), (["butter", "spreads"], 0.25)],
    "snacks_drinks": [(["chips pretzels", "popcorn jerky"], 0.85), (["soft drinks", "energy sports drinks",
                      "water seltzer sparkling water"], 0.85), (["candy chocolate"], 0.35),
                      (["nuts seeds dried fruit", "crackers"], 0.3), (["preserved dips spreads"], 0.25)],
    "bathroom": [(["hair care"], 0.85), (["soap", "body lotions soap"], 0.6), (["oral hygiene"], 0.3),
                 (["facial care", "feminine care"], 0.2), (["paper goods"], 0.35), (["cleaning products"], 0.3)],
    "cleaning": [(["cleaning products"], 0.85), (["dish detergents"], 0.5), (["laundry"], 0.5),
                 (["paper goods"], 0.4), (["air fresheners candles"], 0.2), (["kitchen supplies", "more household"], 0.25)],
    "party": [(["plates bowls cups flatware"], 0.9), (["soft drinks", "water seltzer sparkling water"], 0.7),
              (["chips pretzels"], 0.6), (["candy chocolate", "cookies cakes"], 0.4), (["preserved dips spreads"], 0.3)],
    "baking": [(["baking ingredients"], 0.95), (["butter"], 0.6), (["eggs"], 0.6), (["milk", "cream"], 0.5),
               (["spices seasonings"], 0.2)],
    "coffee_break": [(["coffee", "tea"], 0.9), (["cream", "milk"], 0.5), (["cookies cakes"], 0.55),
                     (["cocoa drink mixes"], 0.15), (["mint gum"], 0.15)],
    "lunch_salad": [(["salad dressing toppings"], 0.85), (["oils vinegars"], 0.35), (["pickled goods olives"], 0.35),
                    (["canned meat seafood"], 0.4), (["crackers"], 0.3), (["specialty cheeses"], 0.3)],
    "pantry_stockup": [(["canned jarred vegetables"], 0.7), (["canned meals beans"], 0.5), (["soup broth bouillon"], 0.45),
                       (["grains rice dried goods"], 0.5), (["condiments"], 0.3), (["dry pasta"], 0.3)],
    "health": [(["vitamins supplements", "protein meal replacements"], 0.6), (["energy granola bars"], 0.6),
               (["fruit vegetable snacks", "nuts seeds dried fruit"], 0.4), (["water seltzer sparkling water"], 0.4),
               (["digestion", "first aid", "muscles joints pain relief"], 0.25), (["tea"], 0.25)],
    "quick_meal": [(["instant foods"], 0.85), (["canned meals beans", "soup broth bouillon"], 0.45),
                   (["soft drinks", "energy sports drinks"], 0.4), (["crackers"], 0.2), (["condiments"], 0.2)],
}

# segment -> (share of shoppers, mission weights, price sensitivity beta, missions per trip mean)
SEGMENTS = {
    "family": (0.30, {"breakfast": 3, "pasta_night": 2, "snacks_drinks": 2, "baking": 1, "cleaning": 1,
                      "pantry_stockup": 1, "party": 0.5, "bathroom": 1}, 0.8, 1.0),
    "health": (0.20, {"health": 3, "breakfast": 2, "lunch_salad": 2, "coffee_break": 1, "bathroom": 1}, 0.0, 0.6),
    "student": (0.20, {"quick_meal": 3, "snacks_drinks": 3, "pasta_night": 2, "coffee_break": 1, "party": 1}, 1.5, 0.4),
    "home": (0.15, {"pantry_stockup": 3, "cleaning": 2, "bathroom": 2, "baking": 2, "pasta_night": 1}, 1.0, 1.2),
    "gourmet": (0.15, {"lunch_salad": 2, "pasta_night": 2, "coffee_break": 2, "baking": 1, "snacks_drinks": 1}, -0.8, 0.8),
}
VARIETY = {"yogurt", "tea", "candy chocolate", "juice nectars", "cookies cakes", "chips pretzels",
           "energy granola bars", "spices seasonings", "soft drinks", "specialty cheeses"}
IMPULSE_MEAN = 1.0  # impulse items per basket (Poisson), categories by popularity


def load_catalog(path=CATALOG):
    products = json.loads(pathlib.Path(path).read_text())["products"]
    return [{"sku": p["sku"], "name": p["name"], "department": p["attributes"]["department"],
             "category": p["attributes"]["category"], "price": float(p["price"]),
             "popularity": float(p["attributes"]["popularity"])} for p in products]


class BasketSim:
    def __init__(self, catalog=None, world_seed: int = 2026):
        """world_seed fixes the shoppers' tastes (the same store world for training and held-out
        baskets); the basket draws themselves use the seed given to `baskets`."""
        self.catalog = catalog or load_catalog()
        rng = np.random.default_rng(world_seed)
        self.skus = [p["sku"] for p in self.catalog]
        self.category = [p["category"] for p in self.catalog]
        self.categories = sorted(set(self.category))
        cat_index = {c: k for k, c in enumerate(self.categories)}
        self.item_cat = np.array([cat_index[c] for c in self.category])
        pop = np.array([p["popularity"] for p in self.catalog])
        price = np.array([p["price"] for p in self.catalog])
        self.cat_items = [np.nonzero(self.item_cat == k)[0] for k in range(len(self.categories))]
        self.cat_pop = np.array([pop[ix].sum() for ix in self.cat_items])
        for slots in MISSIONS.values():
            for alts, _ in slots:
                assert all(a in cat_index for a in alts), alts
        self.seg_names = list(SEGMENTS)
        self.seg_share = np.array([SEGMENTS[s][0] for s in self.seg_names])
        self.seg_share /= self.seg_share.sum()
        # SKU choice weights per segment: popularity x price preference x segment taste
        self.choice = np.zeros((len(self.seg_names), len(self.catalog)))
        for g, seg in enumerate(self.seg_names):
            beta = SEGMENTS[seg][2]
            rel_price = np.ones_like(price)
            for ix in self.cat_items:
                rel_price[ix] = price[ix] / np.median(price[ix])
            taste = rng.lognormal(0.0, 0.6, len(self.catalog))
            self.choice[g] = pop ** 0.8 * rel_price ** -beta * taste

    def _pick_items(self, rng, g, cat, basket):
        ix = self.cat_items[cat]
        if any(self.item_cat[i] == cat for i in basket):
            if self.categories[cat] not in VARIETY or rng.uniform() > 0.15:
                return  # substitutes: already have one of this category
        free = [i for i in ix if i not in basket]
        if not free:
            return
        w = self.choice[g, free]
        basket.append(int(rng.choice(free, p=w / w.sum())))
        if self.categories[cat] in VARIETY and rng.uniform() < 0.15 and len(free) > 1:
            rest = [i for i in free if i not in basket]
            w = self.choice[g, rest]
            basket.append(int(rng.choice(rest, p=w / w.sum())))

    def baskets(self, n: int, seed: int):
        """n baskets: list of (segment index, list of item indices in the order they were picked)."""
        rng = np.random.default_rng([7077, seed])
        out = []
        cat_index = {c: k for k, c in enumerate(self.categories)}
        for _ in range(n):
            g = int(rng.choice(len(self.seg_names), p=self.seg_share))
            seg = self.seg_names[g]
            weights = SEGMENTS[seg][1]
            names = list(weights)
            w = np.array([weights[m] for m in names], dtype=float)
            k = min(len(names), 1 + rng.poisson(SEGMENTS[seg][3]))
            missions = rng.choice(len(names), size=k, replace=False, p=w / w.sum())
            basket = []
            for m in missions:
                for alts, prob in MISSIONS[names[m]]:
                    if rng.uniform() < prob:
                        cw = np.array([self.cat_pop[cat_index[a]] for a in alts])
                        cat = cat_index[alts[int(rng.choice(len(alts), p=cw / cw.sum()))]]
                        self._pick_items(rng, g, cat, basket)
            for _ in range(rng.poisson(IMPULSE_MEAN)):
                cat = int(rng.choice(len(self.categories), p=self.cat_pop / self.cat_pop.sum()))
                self._pick_items(rng, g, cat, basket)
            if basket:
                out.append((g, basket))
        return out


if __name__ == "__main__":
    sim = BasketSim()
    bs = sim.baskets(20000, seed=1)
    sizes = np.array([len(b) for _, b in bs])
    print("baskets", len(bs), "size mean", sizes.mean().round(2), "p10/p50/p90", np.percentile(sizes, [10, 50, 90]))
    counts = np.bincount([i for _, b in bs for i in b], minlength=len(sim.skus))
    print("items never bought", int((counts == 0).sum()), "top item share", round(counts.max() / counts.sum(), 3))
    same = np.mean([len(b) != len(set(sim.item_cat[b])) for _, b in bs])
    print("baskets with two SKUs of one category", round(float(same), 3))
    for g, b in bs[:5]:
        print(sim.seg_names[g], [(sim.catalog[i]["name"], sim.category[i]) for i in b])
