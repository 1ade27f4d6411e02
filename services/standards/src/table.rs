//! Code tables between a standard and the event contract, read both ways: a standard's code to
//! kouan's value when reading, kouan's value to the code when writing.

/// The value a code stands for.
pub fn lookup<T: Copy>(table: &[(&str, T)], code: &str) -> Option<T> {
    table
        .iter()
        .find(|(key, _)| *key == code)
        .map(|(_, value)| *value)
}

/// The code written for a value (the first row that has it).
pub fn code_of<T: Copy + PartialEq>(table: &[(&'static str, T)], value: T) -> Option<&'static str> {
    table
        .iter()
        .find(|(_, v)| *v == value)
        .map(|(code, _)| *code)
}

/// The codes of a table, for an error message.
pub fn codes<T>(table: &[(&str, T)]) -> String {
    table
        .iter()
        .map(|(code, _)| *code)
        .collect::<Vec<_>>()
        .join(", ")
}
