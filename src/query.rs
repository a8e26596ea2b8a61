//! Query parameters of generated requests, an absent one left out at no cost.
//!
//! reqwest's `RequestBuilder::query` rewrites the URL's query (and tidies it when it stays empty)
//! even for a parameter that adds nothing, such as an optional `cursor` that is `None`. Every
//! generated `.query(&QueryParam::new(name, &value))` becomes `.query_unless_absent(name,
//! &value)` (the build script rewrites them), which adds exactly what the former did.

use progenitor_client::QueryParam;
use serde::ser::{Impossible, Serialize, Serializer};

/// `query_unless_absent` on reqwest's request builder.
pub(crate) trait QueryUnlessAbsent: Sized {
    /// Adds `name=value` as progenitor's `QueryParam` serializes it, unless `value` is `None`
    /// (which adds nothing either way).
    fn query_unless_absent<T: Serialize>(self, name: &str, value: &T) -> Self;
}

impl QueryUnlessAbsent for reqwest::RequestBuilder {
    fn query_unless_absent<T: Serialize>(self, name: &str, value: &T) -> Self {
        if value.serialize(Absent).is_ok() {
            return self;
        }
        self.query(&QueryParam::new(name, value))
    }
}

/// A serializer that succeeds only for `None`: every other value stops it at its first call.
struct Absent;

/// What stops [`Absent`]: the value is present.
#[derive(Debug)]
struct Present;

impl std::fmt::Display for Present {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a value is present")
    }
}

impl std::error::Error for Present {}

impl serde::ser::Error for Present {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Present
    }
}

/// Methods of [`Absent`] that find a value present.
macro_rules! present {
    ($($method:ident($($argument:ty),*) -> $output:ty;)*) => {
        $(fn $method(self, $(_: $argument),*) -> Result<$output, Present> {
            Err(Present)
        })*
    };
}

impl Serializer for Absent {
    type Ok = ();
    type Error = Present;
    type SerializeSeq = Impossible<(), Present>;
    type SerializeTuple = Impossible<(), Present>;
    type SerializeTupleStruct = Impossible<(), Present>;
    type SerializeTupleVariant = Impossible<(), Present>;
    type SerializeMap = Impossible<(), Present>;
    type SerializeStruct = Impossible<(), Present>;
    type SerializeStructVariant = Impossible<(), Present>;

    fn serialize_none(self) -> Result<(), Present> {
        Ok(())
    }

    present! {
        serialize_bool(bool) -> ();
        serialize_i8(i8) -> ();
        serialize_i16(i16) -> ();
        serialize_i32(i32) -> ();
        serialize_i64(i64) -> ();
        serialize_u8(u8) -> ();
        serialize_u16(u16) -> ();
        serialize_u32(u32) -> ();
        serialize_u64(u64) -> ();
        serialize_f32(f32) -> ();
        serialize_f64(f64) -> ();
        serialize_char(char) -> ();
        serialize_str(&str) -> ();
        serialize_bytes(&[u8]) -> ();
        serialize_unit() -> ();
        serialize_unit_struct(&'static str) -> ();
        serialize_unit_variant(&'static str, u32, &'static str) -> ();
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct(&'static str, usize) -> Self::SerializeStruct;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Present> {
        Err(Present)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: &T,
    ) -> Result<(), Present> {
        Err(Present)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Present> {
        Err(Present)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The URL a builder ends with, with `query` and with `query_unless_absent`.
    fn both<T: Serialize>(name: &str, value: &T) -> (String, String) {
        let client = crate::transport::http_client(
            None,
            std::time::Duration::from_secs(1),
            std::time::Duration::from_secs(1),
        )
        .unwrap();
        let url = "http://127.0.0.1:9/api/v1/product";
        let with_query = client.get(url).query(&QueryParam::new(name, value));
        let without = client.get(url).query_unless_absent(name, value);
        let built = |builder: reqwest::RequestBuilder| builder.build().unwrap().url().to_string();
        (built(with_query), built(without))
    }

    #[test]
    fn adds_exactly_what_query_adds() {
        let (expected, got) = both("cursor", &None::<String>);
        assert_eq!(got, expected);
        assert!(!got.contains('?'), "{got}");
        for (expected, got) in [
            both("cursor", &Some("a b&c".to_string())),
            both("limit", &Some(5i64)),
            both("fieldName", &"tier".to_string()),
            both("product", &Some(vec!["p-1".to_string(), "p-2".to_string()])),
            both("page", &0i32),
        ] {
            assert_eq!(got, expected);
            assert!(got.contains('?'), "{got}");
        }
    }
}
