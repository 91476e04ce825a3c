//! Static word lists the synthetic catalog is built from: the 24 DummyJSON categories with their
//! nouns, brands, tags and price ranges, and the shared lists of adjectives, phrases and names.

/// One DummyJSON category and the vocabulary its products are drawn from.
pub(crate) struct Category {
    /// The category slug, as DummyJSON spells it.
    pub slug: &'static str,
    /// A readable, lower-case name used in descriptions.
    pub label: &'static str,
    /// Three upper-case letters that start the SKU.
    pub code: &'static str,
    /// Product nouns (title case).
    pub nouns: &'static [&'static str],
    /// Brands (at least one).
    pub brands: &'static [&'static str],
    /// Tags (at least three, so 1–3 distinct ones can always be picked).
    pub tags: &'static [&'static str],
    /// Inclusive price range, in cents.
    pub price_cents: (u64, u64),
}

macro_rules! category {
    ($slug:literal, $label:literal, $code:literal, [$($noun:literal),+], [$($brand:literal),+],
     [$($tag:literal),+], $lo:literal..=$hi:literal) => {
        Category {
            slug: $slug,
            label: $label,
            code: $code,
            nouns: &[$($noun),+],
            brands: &[$($brand),+],
            tags: &[$($tag),+],
            price_cents: ($lo, $hi),
        }
    };
}

/// The 24 categories of the real DummyJSON catalog.
#[rustfmt::skip]
pub(crate) static CATEGORIES: [Category; 24] = [
    category!("beauty", "beauty", "BEA",
        ["Mascara", "Eyeshadow Palette", "Powder Canister", "Red Lipstick", "Nail Polish"],
        ["Essence", "Glamour Beauty", "Velvet Touch", "Chic Cosmetics", "Nail Couture"],
        ["beauty", "mascara", "face powder", "lipstick", "nail polish"], 499..=2999),
    category!("fragrances", "fragrance", "FRA",
        ["Eau de Parfum", "Cologne", "Body Mist", "Perfume Oil", "Eau de Toilette"],
        ["Calvin Klein", "Chanel", "Dior", "Dolce & Gabbana", "Gucci"],
        ["fragrances", "perfumes", "unisex", "floral"], 2999..=15999),
    category!("furniture", "furniture", "FUR",
        ["Bed Frame", "Sofa", "Bedside Table", "Office Chair", "Bathroom Sink"],
        ["Annibale Colombo", "Furniture Co.", "Knoll", "Bath Trends"],
        ["furniture", "beds", "sofas", "office", "bathroom"], 4999..=299999),
    category!("groceries", "grocery", "GRO",
        ["Apple", "Beef Steak", "Cat Food", "Chicken Meat", "Cooking Oil", "Cucumber"],
        ["Fresh Farms", "Green Valley", "Golden Harvest", "Daily Pantry"],
        ["food", "fruits", "meat", "vegetables", "pet supplies"], 99..=1999),
    category!("home-decoration", "home decoration", "HOM",
        ["Decoration Swing", "Photo Frame", "House Plant", "Table Lamp", "Wall Clock"],
        ["Home Decor", "Casa Bella", "Nordic Nest", "Artisan Living"],
        ["home decor", "decoration", "plants", "lighting"], 999..=9999),
    category!("kitchen-accessories", "kitchen", "KIT",
        ["Bamboo Spatula", "Aluminium Cup", "Chopping Board", "Electric Stove", "Hand Blender"],
        ["Kitchen Pro", "ChefMate", "Cookwell", "Panware"],
        ["kitchen tools", "utensils", "cookware", "appliances"], 299..=19999),
    category!("laptops", "laptop", "LAP",
        ["Notebook", "Ultrabook", "Gaming Laptop", "Chromebook", "Workstation"],
        ["Apple", "Asus", "Huawei", "Lenovo", "Dell"],
        ["laptops", "computers", "electronics", "gaming"], 49999..=299999),
    category!("mens-shirts", "men's shirt", "MSH",
        ["Check Shirt", "Polo Shirt", "Linen Shirt", "Oxford Shirt", "Denim Shirt"],
        ["Fashion Trends", "Urban Threads", "Classic Tailor", "Northwind Apparel"],
        ["clothing", "men's shirts", "casual", "formal"], 1499..=6999),
    category!("mens-shoes", "men's shoe", "MSS",
        ["Sneakers", "Running Shoes", "Loafers", "Leather Boots", "Sports Trainers"],
        ["Nike", "Puma", "Off White", "Strideline"],
        ["footwear", "men's shoes", "sneakers", "athletic"], 3999..=24999),
    category!("mens-watches", "men's watch", "MWA",
        ["Chronograph", "Diver Watch", "Dress Watch", "Pilot Watch", "Smart Watch"],
        ["Brown", "Longines", "Rolex", "IWC"],
        ["watches", "men's watches", "luxury", "accessories"], 9999..=999999),
    category!("mobile-accessories", "mobile accessory", "MOB",
        ["Wireless Earbuds", "Charging Cable", "Phone Case", "Power Bank", "Magnetic Charger"],
        ["Amazon", "Apple", "Beats", "Monopod Pro"],
        ["electronics", "accessories", "chargers", "audio"], 499..=29999),
    category!("motorcycle", "motorcycle", "MOT",
        ["Sport Bike", "Scooter", "Cruiser", "Dirt Bike", "Touring Motorcycle"],
        ["Generic Motors", "Kawasaki", "MotoGP", "ScootMaster", "SpeedMaster"],
        ["motorcycles", "vehicles", "sports bikes", "scooters"], 149999..=2999999),
    category!("skin-care", "skin care", "SKI",
        ["Moisturizer", "Sunscreen", "Face Serum", "Night Cream", "Cleansing Gel"],
        ["Olay", "Vaseline", "Attitude", "Dermaglow"],
        ["skin care", "moisturizers", "sunscreen", "serums"], 499..=4999),
    category!("smartphones", "smartphone", "SMA",
        ["Smartphone", "Foldable Phone", "Camera Phone", "Compact Phone", "Rugged Phone"],
        ["Apple", "Oppo", "Realme", "Samsung", "Vivo"],
        ["smartphones", "mobile", "electronics", "5g"], 9999..=149999),
    category!("sports-accessories", "sports", "SPO",
        ["Football", "Tennis Racket", "Basketball", "Cricket Bat", "Baseball Glove"],
        ["Sporting Goods", "ProPlay", "Athletica", "Fieldline"],
        ["sports", "fitness", "outdoor", "team sports"], 999..=24999),
    category!("sunglasses", "sunglasses", "SUN",
        ["Aviator Sunglasses", "Round Sunglasses", "Sport Sunglasses", "Cat Eye Sunglasses"],
        ["Fashion Shades", "Sunnies", "Ray Optics", "Polar Vision"],
        ["sunglasses", "eyewear", "accessories", "summer"], 1999..=24999),
    category!("tablets", "tablet", "TAB",
        ["Tablet", "Drawing Tablet", "Tablet Mini", "Tablet Pro", "E-Reader"],
        ["Apple", "Samsung", "Lenovo", "Amazon"],
        ["tablets", "electronics", "e-readers", "portable"], 9999..=129999),
    category!("tops", "tops", "TOP",
        ["Blouse", "Crop Top", "Tank Top", "Tunic", "Knit Sweater"],
        ["Top Threads", "Bloom Wear", "Urban Chic", "Soft Layers"],
        ["tops", "women's clothing", "casual", "summer"], 999..=5999),
    category!("vehicle", "vehicle", "VEH",
        ["Sedan", "SUV", "Pickup Truck", "Hatchback", "Electric Car"],
        ["Chevrolet", "Dodge", "Ford", "Toyota", "Volvo"],
        ["vehicles", "cars", "automotive", "electric"], 1999999..=9999999),
    category!("womens-bags", "women's bag", "WBA",
        ["Handbag", "Tote Bag", "Shoulder Bag", "Clutch", "Crossbody Bag"],
        ["Prada", "Gucci", "Heshe", "Elegance Collection"],
        ["women's bags", "handbags", "fashion", "leather"], 2999..=299999),
    category!("womens-dresses", "women's dress", "WDR",
        ["Maxi Dress", "Summer Dress", "Evening Gown", "Wrap Dress", "Shirt Dress"],
        ["Dress Me Up", "Elegance Collection", "Velvet Lane", "Breeze"],
        ["dresses", "women's clothing", "fashion", "evening"], 2999..=49999),
    category!("womens-jewellery", "jewellery", "WJE",
        ["Necklace", "Bracelet", "Earrings", "Ring", "Pendant"],
        ["Silver Lining", "Golden Thread", "Luxe Gems", "Pearl House"],
        ["jewellery", "necklaces", "bracelets", "accessories"], 999..=99999),
    category!("womens-shoes", "women's shoe", "WSH",
        ["Heels", "Ballet Flats", "Ankle Boots", "Sandals", "Pumps"],
        ["Calvin Klein", "Pampi", "Comfort Trends", "Step Up"],
        ["footwear", "women's shoes", "heels", "sandals"], 2999..=19999),
    category!("womens-watches", "women's watch", "WWA",
        ["Ladies Watch", "Rose Gold Watch", "Bracelet Watch", "Minimalist Watch", "Smart Watch"],
        ["IWC", "Rolex", "Fashion Timepieces", "Lumina"],
        ["watches", "women's watches", "accessories", "luxury"], 4999..=499999),
];

/// Adjectives placed between brand and noun in titles.
pub(crate) static ADJECTIVES: &[&str] = &[
    "Classic",
    "Modern",
    "Essential",
    "Premium",
    "Compact",
    "Deluxe",
    "Ultra",
    "Vintage",
    "Velvet",
    "Urban",
    "Natural",
    "Elegant",
    "Sleek",
    "Bold",
    "Everyday",
    "Signature",
];

/// Openings of descriptions.
pub(crate) static OPENINGS: &[&str] = &[
    "A dependable choice",
    "Crafted with care",
    "Built to last",
    "Designed for comfort",
    "Made for everyday use",
    "A customer favourite",
];

/// Closing sentences of descriptions.
pub(crate) static CLOSINGS: &[&str] = &[
    "Easy to care for and simple to use.",
    "Backed by our quality promise.",
    "Available while stocks last.",
    "Pairs well with the rest of the collection.",
    "Thoughtfully packaged and ready to ship.",
];

/// Review comments for ratings of 3 and more.
pub(crate) static GOOD_COMMENTS: &[&str] = &[
    "Great product!",
    "Very satisfied!",
    "Would buy again!",
    "Highly recommended!",
    "Fast shipping!",
    "Excellent quality!",
    "Awesome product!",
    "Very happy with my purchase!",
];

/// Review comments for ratings of 1 and 2.
pub(crate) static BAD_COMMENTS: &[&str] = &[
    "Not as described!",
    "Very disappointed!",
    "Poor quality!",
    "Would not recommend!",
];

/// Reviewers' first names (ASCII, so e-mail addresses can be derived from them).
pub(crate) static FIRST_NAMES: &[&str] = &[
    "Eleanor", "Lucas", "Eli", "Nolan", "Aria", "Mateo", "Layla", "Owen", "Zoe", "Caleb", "Nora",
    "Henry", "Ivy", "Logan", "Stella", "Wyatt",
];

/// Reviewers' last names (ASCII).
pub(crate) static LAST_NAMES: &[&str] = &[
    "Collins", "Gordon", "Butler", "Cooper", "Bennett", "Reed", "Hughes", "Foster", "Ward",
    "Brooks", "Price", "Sanders", "Myers", "Perry", "Hayes", "Kelly",
];

/// `warrantyInformation` values.
pub(crate) static WARRANTIES: &[&str] = &[
    "1 month warranty",
    "3 months warranty",
    "6 months warranty",
    "1 year warranty",
    "2 year warranty",
    "5 year warranty",
    "Lifetime warranty",
    "No warranty",
];

/// `shippingInformation` values.
pub(crate) static SHIPPING: &[&str] = &[
    "Ships in 1 week",
    "Ships in 2 weeks",
    "Ships in 1 month",
    "Ships in 3-5 business days",
    "Ships in 1-2 business days",
    "Ships overnight",
];

/// `returnPolicy` values.
pub(crate) static RETURN_POLICIES: &[&str] = &[
    "7 days return policy",
    "30 days return policy",
    "60 days return policy",
    "90 days return policy",
    "No return policy",
];
