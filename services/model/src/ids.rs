//! Domain identifiers and their check digits.
//!
//! Each `check_*` function returns the reason a value is not a valid identifier of its kind; the
//! caller adds the field name. The `make_*` helpers build valid identifiers (used by the simulator
//! and by tests).

/// ISO 6346 letter values: A=10, then counting up but skipping multiples of 11 (so B=12, K=21, V=34).
fn iso6346_letter_value(letter: u8) -> Option<u32> {
    if !letter.is_ascii_uppercase() {
        return None;
    }
    let mut value = 10;
    for candidate in b'A'..=b'Z' {
        if value % 11 == 0 {
            value += 1;
        }
        if candidate == letter {
            return Some(value);
        }
        value += 1;
    }
    None
}

/// The check digit of the first ten characters of an ISO 6346 number (owner, category, serial).
pub fn iso6346_check_digit(first_ten: &str) -> Option<u32> {
    let bytes = first_ten.as_bytes();
    if bytes.len() != 10 {
        return None;
    }
    let mut sum = 0u32;
    for (position, &byte) in bytes.iter().enumerate() {
        let value = if position < 4 {
            iso6346_letter_value(byte)?
        } else if byte.is_ascii_digit() {
            u32::from(byte - b'0')
        } else {
            return None;
        };
        sum += value << position;
    }
    Some(sum % 11 % 10)
}

/// An ISO 6346 container number: 3-letter owner, category `U`, `J` or `Z`, 6-digit serial and a
/// correct check digit, e.g. `CSQU3054383`.
pub fn check_container_number(value: &str) -> Result<(), String> {
    let bytes = value.as_bytes();
    let shape_ok = bytes.len() == 11
        && bytes[..3].iter().all(u8::is_ascii_uppercase)
        && matches!(bytes[3], b'U' | b'J' | b'Z')
        && bytes[4..].iter().all(u8::is_ascii_digit);
    if !shape_ok {
        return Err(format!(
            "`{value}` is not an ISO 6346 container number (owner code, U/J/Z, 6 digits, check digit)"
        ));
    }
    let expected = iso6346_check_digit(&value[..10]).expect("shape checked above");
    let given = u32::from(bytes[10] - b'0');
    if given != expected {
        return Err(format!(
            "container number `{value}` has check digit {given}, expected {expected}"
        ));
    }
    Ok(())
}

/// A ULD id: 3-letter type, 4 or 5-digit serial, 2-character owner (letters or digits), e.g.
/// `AKE12345CZ`.
pub fn is_uld_id(value: &str) -> bool {
    let bytes = value.as_bytes();
    let digits = bytes.len().wrapping_sub(5);
    (digits == 4 || digits == 5)
        && bytes[..3].iter().all(u8::is_ascii_uppercase)
        && bytes[3..3 + digits].iter().all(u8::is_ascii_digit)
        && bytes[3 + digits..]
            .iter()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// An equipment reference: an ISO 6346 container number or a ULD id.
pub fn check_equipment_reference(value: &str) -> Result<(), String> {
    if is_uld_id(value) {
        return Ok(());
    }
    let looks_like_container = value.len() == 11
        && value.as_bytes()[..4].iter().all(u8::is_ascii_uppercase)
        && value.as_bytes()[4..].iter().all(u8::is_ascii_digit);
    if looks_like_container {
        return check_container_number(value);
    }
    Err(format!(
        "`{value}` is neither an ISO 6346 container number nor a ULD id"
    ))
}

/// An air waybill number: 3-digit airline prefix, dash, 7-digit serial and a check digit equal to
/// the serial mod 7, e.g. `784-12345675`.
pub fn check_awb(value: &str) -> Result<(), String> {
    let bytes = value.as_bytes();
    let shape_ok = bytes.len() == 12
        && bytes[..3].iter().all(u8::is_ascii_digit)
        && bytes[3] == b'-'
        && bytes[4..].iter().all(u8::is_ascii_digit);
    if !shape_ok {
        return Err(format!(
            "`{value}` is not an air waybill number (3-digit prefix, dash, 8 digits)"
        ));
    }
    let serial: u32 = value[4..11].parse().expect("digits checked above");
    let expected = serial % 7;
    let given = u32::from(bytes[11] - b'0');
    if given != expected {
        return Err(format!(
            "air waybill `{value}` has check digit {given}, expected {expected}"
        ));
    }
    Ok(())
}

/// A UN/LOCODE: 2-letter country and 3 characters of `[A-Z2-9]`. Only the format is checked,
/// never membership of the official list.
pub fn check_unlocode(value: &str) -> Result<(), String> {
    let bytes = value.as_bytes();
    let ok = bytes.len() == 5
        && bytes[..2].iter().all(u8::is_ascii_uppercase)
        && bytes[2..]
            .iter()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'9').contains(b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{value}` is not a UN/LOCODE (2 letters and 3 of A-Z, 2-9)"
        ))
    }
}

/// A China customs declaration number: exactly 18 digits.
pub fn check_declaration_number(value: &str) -> Result<(), String> {
    if value.len() == 18 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!("`{value}` is not 18 digits"))
    }
}

/// Builds a valid container number from a 3-letter owner, a category letter and a serial below 10^6.
pub fn make_container_number(owner: &str, category: char, serial: u32) -> String {
    let first_ten = format!("{owner}{category}{:06}", serial % 1_000_000);
    let digit = iso6346_check_digit(&first_ten).expect("caller passes letters and a serial");
    format!("{first_ten}{digit}")
}

/// Builds a valid AWB from a 3-digit airline prefix and a serial below 10^7.
pub fn make_awb(prefix: u16, serial: u32) -> String {
    let serial = serial % 10_000_000;
    format!("{:03}-{serial:07}{}", prefix % 1000, serial % 7)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_container_numbers_are_valid() {
        assert_eq!(check_container_number("CSQU3054383"), Ok(()));
        assert_eq!(check_container_number("APZU4812090"), Ok(()));
        assert!(check_container_number("CSQU3054384").is_err());
        assert!(check_container_number("CSQX3054383").is_err());
        assert!(check_container_number("csqu3054383").is_err());
    }

    #[test]
    fn letter_values_skip_multiples_of_eleven() {
        assert_eq!(iso6346_letter_value(b'A'), Some(10));
        assert_eq!(iso6346_letter_value(b'B'), Some(12));
        assert_eq!(iso6346_letter_value(b'K'), Some(21));
        assert_eq!(iso6346_letter_value(b'L'), Some(23));
        assert_eq!(iso6346_letter_value(b'V'), Some(34));
        assert_eq!(iso6346_letter_value(b'Z'), Some(38));
    }

    #[test]
    fn known_awb_is_valid() {
        assert_eq!(check_awb("784-12345675"), Ok(()));
        assert!(check_awb("784-12345674").is_err());
        assert!(check_awb("78412345675").is_err());
    }

    #[test]
    fn uld_and_unlocode_and_declaration_formats() {
        assert_eq!(check_equipment_reference("AKE12345CZ"), Ok(()));
        assert_eq!(check_equipment_reference("PMC1234CV"), Ok(()));
        assert!(check_equipment_reference("AKE123CZ").is_err());
        assert_eq!(check_unlocode("CNCGO"), Ok(()));
        assert_eq!(check_unlocode("DE2A9"), Ok(()));
        assert!(check_unlocode("CNCG1").is_err());
        assert!(check_unlocode("cncgo").is_err());
        assert!(check_unlocode("CNCGOX").is_err());
        assert_eq!(check_declaration_number("460420261000123456"), Ok(()));
        assert!(check_declaration_number("46042026100012345").is_err());
        assert!(check_declaration_number("46042026100012345x").is_err());
    }

    proptest! {
        #[test]
        fn made_container_numbers_are_valid_and_any_other_check_digit_is_rejected(
            owner in "[A-Z]{3}", category in prop::sample::select(vec!['U', 'J', 'Z']),
            serial in 0u32..1_000_000, replacement in prop::char::range('0', '9'),
        ) {
            let number = make_container_number(&owner, category, serial);
            prop_assert_eq!(check_container_number(&number), Ok(()));
            prop_assert_eq!(check_equipment_reference(&number), Ok(()));
            let corrupted = format!("{}{}", &number[..10], replacement);
            if corrupted != number {
                prop_assert!(check_container_number(&corrupted).is_err());
                prop_assert!(check_equipment_reference(&corrupted).is_err());
            }
        }

        #[test]
        fn made_awbs_are_valid_and_any_other_check_digit_is_rejected(
            prefix in 0u16..1000, serial in 0u32..10_000_000, replacement in prop::char::range('0', '9'),
        ) {
            let awb = make_awb(prefix, serial);
            prop_assert_eq!(check_awb(&awb), Ok(()));
            let corrupted = format!("{}{}", &awb[..11], replacement);
            if corrupted != awb {
                prop_assert!(check_awb(&corrupted).is_err());
            }
        }

        #[test]
        fn check_functions_never_panic(value in "\\PC{0,14}") {
            let _ = check_equipment_reference(&value);
            let _ = check_awb(&value);
            let _ = check_unlocode(&value);
            let _ = check_declaration_number(&value);
        }
    }
}
