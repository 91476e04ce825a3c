//! Field selection (`select=`): which of a product's fields an answer serves, and whether its
//! prices are served as strings.

/// The product fields in serialization order; a field's index is its bit in a [`FieldSet`].
pub(crate) const FIELD_NAMES: [&str; 22] = [
    "id",
    "title",
    "description",
    "category",
    "price",
    "discountPercentage",
    "rating",
    "stock",
    "tags",
    "brand",
    "sku",
    "weight",
    "dimensions",
    "warrantyInformation",
    "shippingInformation",
    "availabilityStatus",
    "reviews",
    "returnPolicy",
    "minimumOrderQuantity",
    "meta",
    "images",
    "thumbnail",
];

/// The product fields, in the order of [`FIELD_NAMES`].
#[derive(Clone, Copy)]
pub(crate) enum Field {
    Id,
    Title,
    Description,
    Category,
    Price,
    DiscountPercentage,
    Rating,
    Stock,
    Tags,
    Brand,
    Sku,
    Weight,
    Dimensions,
    WarrantyInformation,
    ShippingInformation,
    AvailabilityStatus,
    Reviews,
    ReturnPolicy,
    MinimumOrderQuantity,
    Meta,
    Images,
    Thumbnail,
}

/// Which fields a product is serialized with; `id` is always included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FieldSet<'a> {
    /// The generated fields, one bit per index in [`FIELD_NAMES`].
    bits: u32,
    /// The `select` value, kept so extra (overridden) fields can be selected by name too;
    /// `None` selects everything.
    select: Option<&'a str>,
    /// Serve numeric prices as JSON strings of the same text (`"12.5"`, not `12.5`).
    string_prices: bool,
}

/// Every generated field's bit.
const ALL_BITS: u32 = (1 << FIELD_NAMES.len()) - 1;

impl<'a> FieldSet<'a> {
    /// Every field (no `select`).
    pub(crate) const ALL: FieldSet<'static> = FieldSet {
        bits: ALL_BITS,
        select: None,
        string_prices: false,
    };

    /// Parses a `select` value: comma-separated names; names the generator does not know select
    /// extra fields only.
    pub(crate) fn parse(select: &'a str) -> FieldSet<'a> {
        let mut bits = 1 << Field::Id as u32;
        for name in names(select) {
            if let Some(index) = FIELD_NAMES.iter().position(|f| *f == name) {
                bits |= 1 << index;
            }
        }
        FieldSet {
            bits,
            select: Some(select),
            string_prices: false,
        }
    }

    /// The same fields, with numeric prices served as strings when `on`.
    pub(crate) fn with_string_prices(self, on: bool) -> FieldSet<'a> {
        FieldSet {
            string_prices: on,
            ..self
        }
    }

    /// Whether numeric prices are served as strings.
    pub(crate) fn string_prices(self) -> bool {
        self.string_prices
    }

    /// Whether a field called `name` is selected, whether the generator knows it or not.
    pub(crate) fn selects(self, name: &str) -> bool {
        name == "id" || self.has_extra(name)
    }

    pub(crate) fn has(self, field: Field) -> bool {
        self.bits & (1 << field as u32) != 0
    }

    /// Whether an extra field called `name` is selected.
    pub(crate) fn has_extra(self, name: &str) -> bool {
        self.select
            .is_none_or(|select| names(select).any(|n| n == name))
    }

    /// Whether every generated field is selected (the size of a full product).
    pub(crate) fn is_full(self) -> bool {
        self.bits == ALL_BITS
    }
}

/// The names in a `select` value.
pub(crate) fn names(select: &str) -> impl Iterator<Item = &str> {
    select.split(',').map(str::trim)
}
