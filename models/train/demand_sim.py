"""Store demand simulator for the forecaster (seeded, deterministic).

One simulated store = daily demand and sales of every SKU of the demo catalog over `days` days
(day 0 is Monday 2024-01-01). Per SKU and day the true demand is

    mean = base * store_size * weekly[department][dow] * trend * level_walk * annual
           * (regular_price / list_price) ** -elasticity          (regular price changes)
           * (selling_price / regular_price) ** -promo_elasticity * display   (promotion)
           * post_promo_dip                                        (pantry loading after a promo)
    demand ~ NegativeBinomial(mean, dispersion k)                  (fast movers)
    demand ~ Bernoulli(1/interval) * (1 + Poisson(size - 1))       (intermittent slow movers, Croston-like)

Stock follows a periodic-review order-up-to policy (deliveries every 1, 2-3 or 7 days, an
imperfect plan of the demand, random safety stock, 2 % failed deliveries), and
sales = min(demand, stock on hand); the stock-out flag is set on every day the shelf ran empty
(demand >= stock), so sales on flagged days are censored demand. Unmet demand is lost.

Stores differ by seed: size, SKU base rates, weekly profile noise, trend, promo calendar, prices,
replenishment. Training stores and held-out evaluation stores use disjoint seeds.

    python demand_sim.py            # prints a summary of one store
"""

import json
import pathlib

import numpy as np

CATALOG = pathlib.Path(__file__).resolve().parent.parent / "data" / "demo-catalog.json"

DAYS = 728  # 104 weeks, Monday 2024-01-01 .. Sunday 2025-12-28
TRAIN_STORES = list(range(12))  # seeds of the training stores
EVAL_STORES = [1000, 1001, 1002, 1003]  # held-out stores (never seen in training)

# weekly profile Mon..Sun per department (normalised to mean 1 below)
WEEKLY = {
    "snacks": [0.80, 0.80, 0.85, 0.95, 1.25, 1.45, 0.90],
    "beverages": [0.80, 0.78, 0.85, 0.95, 1.30, 1.52, 0.80],
    "dairy eggs": [1.08, 0.95, 0.95, 1.00, 1.10, 1.25, 0.67],
    "breakfast": [1.12, 0.95, 0.95, 0.95, 1.00, 1.20, 0.83],
    "pantry": [1.00, 0.90, 0.90, 1.00, 1.15, 1.30, 0.75],
    "canned goods": [1.00, 0.92, 0.92, 1.00, 1.12, 1.28, 0.76],
    "dry goods pasta": [1.00, 0.90, 0.92, 1.00, 1.15, 1.30, 0.73],
    "household": [0.85, 0.85, 0.90, 0.95, 1.10, 1.60, 0.75],
    "personal care": [0.90, 0.88, 0.92, 0.98, 1.10, 1.50, 0.72],
}
# regular-price elasticity (log-log) and how storable the goods are (post-promo dip depth)
ELASTICITY = {"snacks": 1.6, "beverages": 1.8, "dairy eggs": 0.9, "breakfast": 1.4, "pantry": 1.1,
              "canned goods": 1.3, "dry goods pasta": 1.2, "household": 1.7, "personal care": 1.5}
STORABLE = {"snacks": 0.20, "beverages": 0.30, "dairy eggs": 0.08, "breakfast": 0.25, "pantry": 0.35,
            "canned goods": 0.40, "dry goods pasta": 0.40, "household": 0.45, "personal care": 0.40}
SUMMER = {"beverages": 0.18, "snacks": 0.06}  # annual amplitude (peak mid July)


def load_catalog(path=CATALOG):
    products = json.loads(pathlib.Path(path).read_text())["products"]
    return [
        {
            "sku": p["sku"],
            "department": p["attributes"]["department"],
            "category": p["attributes"]["category"],
            "price": float(p["price"]),
            "popularity": float(p["attributes"]["popularity"]),
        }
        for p in products
    ]


def simulate_store(seed: int, catalog=None, days: int = DAYS) -> dict:
    """Returns arrays [n_sku, days]: demand, sales, stockout, promo, price, regular_price."""
    catalog = catalog or load_catalog()
    rng = np.random.default_rng([20260, seed])
    n = len(catalog)
    dept = [p["department"] for p in catalog]
    pop = np.array([p["popularity"] for p in catalog])
    list_price = np.array([p["price"] for p in catalog])
    t = np.arange(days)
    dow = t % 7

    # ---- store and SKU level parameters
    size = float(rng.lognormal(0.0, 0.35))
    base = 30.0 * pop ** 0.9 * size * rng.lognormal(0.0, 0.45, n)
    weekly = np.array([WEEKLY[d] for d in dept]) * rng.lognormal(0.0, 0.05, (n, 7))
    weekly /= weekly.mean(axis=1, keepdims=True)
    elastic = np.array([ELASTICITY[d] for d in dept]) * rng.uniform(0.7, 1.3, n)
    promo_elastic = rng.uniform(2.0, 4.0, n)
    storable = np.array([STORABLE[d] for d in dept]) * rng.uniform(0.5, 1.5, n)
    dispersion = rng.uniform(2.0, 12.0, n)  # NB size k: var = mu + mu^2 / k
    # intermittent: most of the slowest SKUs, a few others
    intermittent = (base < 0.9) & (rng.uniform(size=n) < 0.8)
    interval = np.where(intermittent, rng.uniform(2.5, 12.0, n), 1.0)
    demand_size = np.maximum(1.0, base * interval)  # mean size when demand occurs

    # trend (log-linear, per year) and a slow AR(1) level walk on the log scale
    slope = rng.normal(0.0, 0.25, n) / 365.0
    walk = np.zeros((n, days))
    eps = rng.normal(0.0, 0.03, (n, days))
    for d in range(1, days):
        walk[:, d] = 0.985 * walk[:, d - 1] + eps[:, d]
    annual = np.ones((n, days))
    for i, d in enumerate(dept):
        if d in SUMMER:
            annual[i] = 1.0 + SUMMER[d] * np.cos(2 * np.pi * (t - 196) / 365.25)

    # ---- prices: regular price changes and weekly promotions
    regular = np.tile(list_price[:, None], (1, days))
    for i in range(n):
        for _ in range(rng.poisson(1.3)):
            start = int(rng.integers(1, days))
            factor = rng.choice([rng.uniform(0.88, 0.96), rng.uniform(1.04, 1.15)])
            regular[i, start:] *= factor
    regular = np.round(regular, 2)
    promo = np.zeros((n, days), dtype=np.float32)
    price = regular.copy()
    promo_rate = np.clip(rng.normal(0.07, 0.03, n), 0.0, 0.16)  # chance a week is a promo week
    for i in range(n):
        week = 1
        while week < days // 7:
            if rng.uniform() < promo_rate[i]:
                length = 7 * (1 + int(rng.uniform() < 0.25))
                start = 7 * week + (3 if rng.uniform() < 0.3 else 0)  # Monday or Thursday start
                stop = min(days, start + length)
                discount = rng.uniform(0.10, 0.35)
                promo[i, start:stop] = 1.0
                price[i, start:stop] = np.round(regular[i, start:stop] * (1 - discount), 2)
                week += length // 7 + 3  # at least 3 weeks between promotions
            else:
                week += 1
    display = np.where(promo > 0, rng.uniform(1.0, 1.4, (n, 1)), 1.0)
    # post-promo dip: after each promo ends, demand drops and recovers over ~a week
    dip = np.ones((n, days))
    ends = (promo[:, :-1] > 0) & (promo[:, 1:] == 0)
    for i, e in zip(*np.nonzero(ends)):
        k = np.arange(1, min(10, days - e))
        dip[i, e + k] *= 1.0 - storable[i] * np.exp(-(k - 1) / 3.0)

    mean = (base[:, None] * weekly[:, dow] * np.exp(slope[:, None] * t + walk) * annual
            * (regular / list_price[:, None]) ** -elastic[:, None]
            * (price / regular) ** -promo_elastic[:, None] * display * dip)

    # ---- demand draws
    fast_mu = mean
    nb = rng.negative_binomial(dispersion[:, None], dispersion[:, None] / (dispersion[:, None] + fast_mu))
    occur = rng.uniform(size=(n, days)) < (1.0 / interval[:, None]) * (mean / base[:, None])
    slow = occur * (1 + rng.poisson(np.maximum(demand_size - 1.0, 0.0)[:, None], (n, days)))
    demand = np.where(intermittent[:, None], slow, nb).astype(np.int64)

    # ---- stock: periodic review, order-up-to, lost sales
    period = np.where(base * size > 8, 1, np.where(base > 1.5, rng.choice([2, 3], n), 7))
    offset = rng.integers(0, 7, n)
    safety = rng.uniform(0.0, 1.6, n)  # z of the safety stock; some SKUs run lean
    plan_err = rng.lognormal(0.0, 0.15, (n, days))  # the store's plan misses the true mean
    promo_plan = rng.uniform(0.6, 1.2, n)  # share of the promo uplift the plan anticipates
    expected = mean * plan_err
    uplift = (price / regular) ** -promo_elastic[:, None] * display
    expected = expected / uplift * (1 + (uplift - 1) * promo_plan[:, None])
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(expected, axis=1)], axis=1)
    stock = np.ceil(expected[:, :7].sum(axis=1))
    sales = np.zeros((n, days), dtype=np.int64)
    stockout = np.zeros((n, days), dtype=np.float32)
    failed = rng.uniform(size=(n, days)) < 0.02
    rows = np.arange(n)
    for d in range(days):
        deliver = ((d + offset) % period == 0) & ~failed[:, d]
        cover = cum[rows, np.minimum(d + period + 1, days)] - cum[:, d]  # until the next delivery + 1 day
        target = np.ceil(cover + safety * np.sqrt(cover + cover ** 2 / dispersion) + 0.5)
        stock = np.where(deliver, np.maximum(stock, target), stock)
        sales[:, d] = np.minimum(demand[:, d], stock)
        stockout[:, d] = demand[:, d] >= stock
        stock = stock - sales[:, d]

    return {
        "seed": seed,
        "sku": [p["sku"] for p in catalog],
        "department": dept,
        "intermittent": intermittent,
        "demand": demand.astype(np.float32),
        "sales": sales.astype(np.float32),
        "stockout": stockout,
        "promo": promo,
        "price": price.astype(np.float32),
        "regular_price": regular.astype(np.float32),
        "mean": mean.astype(np.float32),
    }


def simulate(seeds, catalog=None, days: int = DAYS) -> dict:
    """Stacks several stores: arrays [stores, n_sku, days]."""
    catalog = catalog or load_catalog()
    stores = [simulate_store(s, catalog, days) for s in seeds]
    out = {k: np.stack([s[k] for s in stores]) for k in
           ("demand", "sales", "stockout", "promo", "price", "regular_price", "mean", "intermittent")}
    out["seeds"] = list(seeds)
    out["sku"] = stores[0]["sku"]
    out["department"] = stores[0]["department"]
    return out


if __name__ == "__main__":
    s = simulate_store(1000)
    sales, demand = s["sales"], s["demand"]
    print("SKUs", sales.shape[0], "days", sales.shape[1])
    print("mean daily sales per SKU: p10/p50/p90", np.percentile(sales.mean(axis=1), [10, 50, 90]).round(2))
    print("intermittent SKUs", int(s["intermittent"].sum()), "zero-sales days", round(float((sales == 0).mean()), 3))
    print("stock-out days", round(float(s["stockout"].mean()), 3),
          "lost demand share", round(float(1 - sales.sum() / demand.sum()), 3))
    print("promo days", round(float(s["promo"].mean()), 3))
    dow = np.arange(sales.shape[1]) % 7
    print("total sales by dow", [int(sales[:, dow == k].sum()) for k in range(7)])
