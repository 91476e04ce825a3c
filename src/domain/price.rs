//! Exact prices: decimal text from a JSON number or a numeric string, never through `f64`, so
//! PostgreSQL's `numeric` stores exactly what the upstream wrote.

/// Most digits before the decimal point; anything longer is no price.
pub const MAX_INTEGER_DIGITS: usize = 60;
/// Most digits after the decimal point.
pub const MAX_FRACTION_DIGITS: usize = 30;

/// An exact, non-negative decimal price in plain notation (`9.99`, `1000`, `0.005`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Price(String);

/// Why a value is not a price.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PriceError {
    #[error("not a number")]
    NotANumber,
    #[error("negative")]
    Negative,
    #[error(
        "out of range (more than {MAX_INTEGER_DIGITS} digits before or {MAX_FRACTION_DIGITS} after the decimal point)"
    )]
    OutOfRange,
}

impl Price {
    /// Reads decimal text in JSON number syntax (`9.99`, `-0`, `1.5e3`), as a JSON number's
    /// literal or the content of a numeric string. Exponents are written out, so `1.5e3` is
    /// `1500`; the digits themselves are kept as written (`9.90` stays `9.90`).
    pub fn parse(text: &str) -> Result<Price, PriceError> {
        if is_plain(text) {
            return Ok(Price(text.to_owned()));
        }
        Price::parse_general(text)
    }

    fn parse_general(text: &str) -> Result<Price, PriceError> {
        let (negative, rest) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (mantissa, exponent) = match rest.find(['e', 'E']) {
            Some(at) => (&rest[..at], parse_exponent(&rest[at + 1..])?),
            None => (rest, 0),
        };
        let (int_part, frac_part) = match mantissa.split_once('.') {
            Some((int, frac)) => (int, frac),
            None => (mantissa, ""),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(int_part) || (mantissa.contains('.') && !digits(frac_part)) {
            return Err(PriceError::NotANumber);
        }
        // Where the decimal point sits within int_part ++ frac_part once the exponent is
        // applied, checked against the bounds before any digit is written out.
        let all: String = [int_part, frac_part].concat();
        let point = int_part.len() as i64 + exponent;
        let leading_zeros = all.bytes().take_while(|b| *b == b'0').count() as i64;
        let integer_digits = (point - leading_zeros).max(0);
        let fraction_digits = (all.len() as i64 - point).max(0);
        if integer_digits > MAX_INTEGER_DIGITS as i64
            || fraction_digits > MAX_FRACTION_DIGITS as i64
        {
            return Err(PriceError::OutOfRange);
        }
        let plain = if point <= 0 {
            format!("0.{}{all}", "0".repeat((-point) as usize))
        } else if point as usize >= all.len() {
            format!("{all}{}", "0".repeat(point as usize - all.len()))
        } else {
            let (int, frac) = all.split_at(point as usize);
            format!("{int}.{frac}")
        };
        let plain = strip_leading_zeros(&plain);
        let zero = plain.bytes().all(|b| b == b'0' || b == b'.');
        if negative && !zero {
            return Err(PriceError::Negative);
        }
        Ok(Price(plain))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares two prices by value (`9.9` < `10`, `1.50` = `1.5`).
    pub fn cmp_value(&self, other: &Price) -> std::cmp::Ordering {
        fn split(p: &Price) -> (&str, &str) {
            let (int, frac) = p.0.split_once('.').unwrap_or((&p.0, ""));
            (int, frac.trim_end_matches('0'))
        }
        let ((int_a, frac_a), (int_b, frac_b)) = (split(self), split(other));
        int_a
            .len()
            .cmp(&int_b.len())
            .then_with(|| int_a.cmp(int_b))
            .then_with(|| frac_a.cmp(frac_b))
    }
}

/// Whether `text` is already in the plain notation `parse` writes (`9.99`, `0.5`, `120`, no
/// leading zero but the one before a point, within range), as most upstream prices are: it is
/// then kept as it is, without being taken apart.
fn is_plain(text: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (int, frac) = match text.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (text, None),
    };
    digits(int)
        && (int == "0" || !int.starts_with('0'))
        && int.len() <= MAX_INTEGER_DIGITS
        && frac.is_none_or(|f| digits(f) && f.len() <= MAX_FRACTION_DIGITS)
}

/// An exponent's value; more than nine digits is out of any price's range.
fn parse_exponent(text: &str) -> Result<i64, PriceError> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(PriceError::NotANumber);
    }
    if digits.len() > 9 {
        return Err(PriceError::OutOfRange);
    }
    let value: i64 = digits.parse().map_err(|_| PriceError::NotANumber)?;
    Ok(if text.starts_with('-') { -value } else { value })
}

fn strip_leading_zeros(plain: &str) -> String {
    let trimmed = plain.trim_start_matches('0');
    if trimmed.is_empty() || trimmed.starts_with('.') {
        format!("0{trimmed}")
    } else {
        trimmed.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn price(text: &str) -> Result<String, PriceError> {
        Price::parse(text).map(|p| p.0)
    }

    #[test]
    fn decimal_text_is_kept_exactly() {
        assert_eq!(price("9.99").unwrap(), "9.99");
        assert_eq!(price("9.90").unwrap(), "9.90");
        assert_eq!(price("0").unwrap(), "0");
        assert_eq!(
            price("123456789012345678901234567890.123456789").unwrap(),
            "123456789012345678901234567890.123456789"
        );
        assert_eq!(price("007.5").unwrap(), "7.5");
    }

    #[test]
    fn exponents_are_written_out() {
        assert_eq!(price("1e3").unwrap(), "1000");
        assert_eq!(price("1.5E+3").unwrap(), "1500");
        assert_eq!(price("25e-3").unwrap(), "0.025");
        assert_eq!(price("1.25e1").unwrap(), "12.5");
        assert_eq!(price("0.5e-2").unwrap(), "0.005");
    }

    #[test]
    fn negatives_and_nonsense_are_refused() {
        assert_eq!(price("-1"), Err(PriceError::Negative));
        assert_eq!(price("-0.01"), Err(PriceError::Negative));
        assert_eq!(price("-0").unwrap(), "0");
        for text in [
            "", "NaN", "inf", "12abc", "1,50", ".5", "5.", "+5", "1e", "1e+", "0x10", " 1",
        ] {
            assert_eq!(price(text), Err(PriceError::NotANumber), "{text:?}");
        }
    }

    #[test]
    fn absurd_magnitudes_are_out_of_range_without_writing_them_out() {
        assert_eq!(price("1e400"), Err(PriceError::OutOfRange));
        assert_eq!(price("1e1000000000000"), Err(PriceError::OutOfRange));
        assert_eq!(price("1e-400"), Err(PriceError::OutOfRange));
        assert_eq!(price(&"9".repeat(61)), Err(PriceError::OutOfRange));
        assert!(price(&"9".repeat(60)).is_ok());
        assert_eq!(
            price(&format!("0.{}", "1".repeat(31))),
            Err(PriceError::OutOfRange)
        );
        assert!(
            price("0000000000000000000000000000000000000000000000000000000000000000001").is_ok()
        );
    }

    #[test]
    fn prices_compare_by_value() {
        use std::cmp::Ordering::*;
        let p = |t: &str| Price::parse(t).unwrap();
        assert_eq!(p("9.9").cmp_value(&p("10")), Less);
        assert_eq!(p("1.50").cmp_value(&p("1.5")), Equal);
        assert_eq!(p("0.05").cmp_value(&p("0.005")), Greater);
        assert_eq!(p("100").cmp_value(&p("99.999")), Greater);
    }

    proptest! {
        #[test]
        fn prices_order_like_their_cents(a in 0u64..1_000_000, b in 0u64..1_000_000) {
            let p = |c: u64| Price::parse(&format!("{}.{:02}", c / 100, c % 100)).unwrap();
            prop_assert_eq!(p(a).cmp_value(&p(b)), a.cmp(&b));
        }

        #[test]
        fn any_cent_amount_round_trips(units in 0u64..1_000_000_000_000, cents in 0u32..100) {
            let text = format!("{units}.{cents:02}");
            prop_assert_eq!(price(&text).unwrap(), text);
        }

        #[test]
        fn plain_text_is_read_as_the_general_reading_reads_it(
            text in "(0|[1-9][0-9]{0,8})(\\.[0-9]{1,6})?"
        ) {
            prop_assert!(is_plain(&text));
            prop_assert_eq!(Price::parse_general(&text), Ok(Price(text.clone())));
        }

        #[test]
        fn only_plain_text_skips_the_general_reading(text in "[-+0-9.eE]{0,12}") {
            if let Ok(general) = Price::parse_general(&text) {
                prop_assert_eq!(is_plain(&text), general.0 == text);
            } else {
                prop_assert!(!is_plain(&text));
            }
        }

        #[test]
        fn parsing_never_panics_and_results_are_plain(text in "[-+0-9.eE]{0,24}") {
            if let Ok(plain) = price(&text) {
                prop_assert!(plain.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
                prop_assert!(!plain.starts_with('.') && !plain.ends_with('.'));
                prop_assert_eq!(price(&plain).unwrap(), plain.clone());
            }
        }
    }
}
