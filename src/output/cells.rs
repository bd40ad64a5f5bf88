//! A row as CSV cells, straight from its `Serialize` implementation: the top-level fields in
//! declaration order (the header is `api::field_names`), each as `--json` writes it — text as
//! is, nothing for null, numbers and booleans as JSON has them, nested values as compact
//! JSON. No intermediate `serde_json::Value`: a list of a million rows builds no map per row.

use std::fmt::Display;
use std::io::Write;

use serde::Serialize;
use serde::ser::{self, Impossible, SerializeStruct};

/// Writes `row` as one CSV record. A row that is not a struct is a bug: it writes nothing
/// and says so.
pub fn write_record<W: Write, T: Serialize + ?Sized>(
    out: &mut csv::Writer<W>,
    row: &T,
) -> csv::Result<()> {
    let mut cell = String::new();
    row.serialize(Record { out, cell: &mut cell }).map_err(|e| match e {
        Failure::Csv(e) => e,
        other => csv::Error::from(std::io::Error::other(other.to_string())),
    })?;
    out.write_record(None::<&[u8]>)
}

#[derive(Debug)]
enum Failure {
    /// A value with parts (a list, an object): written as JSON instead.
    Nested,
    Csv(csv::Error),
    Other(String),
}

impl Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Nested => f.write_str("a nested value"),
            Failure::Csv(e) => write!(f, "{e}"),
            Failure::Other(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Failure {}

impl ser::Error for Failure {
    fn custom<M: Display>(msg: M) -> Self {
        Failure::Other(msg.to_string())
    }
}

/// The top level: a struct, whose fields become the cells of one record.
struct Record<'a, W: Write> {
    out: &'a mut csv::Writer<W>,
    cell: &'a mut String,
}

impl<W: Write> SerializeStruct for Record<'_, W> {
    type Ok = ();
    type Error = Failure;

    fn serialize_field<V: Serialize + ?Sized>(
        &mut self,
        _key: &'static str,
        value: &V,
    ) -> Result<(), Failure> {
        self.cell.clear();
        match value.serialize(Cell(self.cell)) {
            Ok(()) => {}
            Err(Failure::Nested) => {
                self.cell.clear();
                let json =
                    serde_json::to_string(value).map_err(|e| Failure::Other(e.to_string()))?;
                self.cell.push_str(&json);
            }
            Err(e) => return Err(e),
        }
        self.out.write_field(self.cell.as_bytes()).map_err(Failure::Csv)
    }

    fn end(self) -> Result<(), Failure> {
        Ok(())
    }
}

/// Methods that answer `$err` whatever they are given.
macro_rules! refuse {
    ($err:expr; $($method:ident($($arg:ty),*) -> $ret:ty),* $(,)?) => {$(
        fn $method(self, $(_: $arg),*) -> Result<$ret, Failure> {
            Err($err)
        }
    )*};
}

fn not_a_struct() -> Failure {
    Failure::Other("a list row must be a struct".into())
}

impl<'a, W: Write> ser::Serializer for Record<'a, W> {
    type Ok = ();
    type Error = Failure;
    type SerializeSeq = Impossible<(), Failure>;
    type SerializeTuple = Impossible<(), Failure>;
    type SerializeTupleStruct = Impossible<(), Failure>;
    type SerializeTupleVariant = Impossible<(), Failure>;
    type SerializeMap = Impossible<(), Failure>;
    type SerializeStruct = Self;
    type SerializeStructVariant = Impossible<(), Failure>;

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Failure> {
        Ok(self)
    }
    fn serialize_newtype_struct<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &V,
    ) -> Result<(), Failure> {
        v.serialize(self)
    }
    fn serialize_some<V: Serialize + ?Sized>(self, _: &V) -> Result<(), Failure> {
        Err(not_a_struct())
    }
    fn serialize_newtype_variant<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Result<(), Failure> {
        Err(not_a_struct())
    }

    refuse! { not_a_struct();
        serialize_bool(bool) -> (), serialize_i8(i8) -> (), serialize_i16(i16) -> (),
        serialize_i32(i32) -> (), serialize_i64(i64) -> (), serialize_u8(u8) -> (),
        serialize_u16(u16) -> (), serialize_u32(u32) -> (), serialize_u64(u64) -> (),
        serialize_f32(f32) -> (), serialize_f64(f64) -> (), serialize_char(char) -> (),
        serialize_str(&str) -> (), serialize_bytes(&[u8]) -> (), serialize_none() -> (),
        serialize_unit() -> (), serialize_unit_struct(&'static str) -> (),
        serialize_unit_variant(&'static str, u32, &'static str) -> (),
        serialize_seq(Option<usize>) -> Self::SerializeSeq,
        serialize_tuple(usize) -> Self::SerializeTuple,
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct,
        serialize_tuple_variant(&'static str, u32, &'static str, usize)
            -> Self::SerializeTupleVariant,
        serialize_map(Option<usize>) -> Self::SerializeMap,
        serialize_struct_variant(&'static str, u32, &'static str, usize)
            -> Self::SerializeStructVariant,
    }
}

/// One field's value as its cell's text; values with parts answer `Nested`.
struct Cell<'a>(&'a mut String);

macro_rules! display {
    ($($method:ident($t:ty)),* $(,)?) => {$(
        fn $method(self, v: $t) -> Result<(), Failure> {
            use std::fmt::Write as _;
            write!(self.0, "{v}").map_err(|e| Failure::Other(e.to_string()))
        }
    )*};
}

impl ser::Serializer for Cell<'_> {
    type Ok = ();
    type Error = Failure;
    type SerializeSeq = Impossible<(), Failure>;
    type SerializeTuple = Impossible<(), Failure>;
    type SerializeTupleStruct = Impossible<(), Failure>;
    type SerializeTupleVariant = Impossible<(), Failure>;
    type SerializeMap = Impossible<(), Failure>;
    type SerializeStruct = Impossible<(), Failure>;
    type SerializeStructVariant = Impossible<(), Failure>;

    display! {
        serialize_bool(bool), serialize_i8(i8), serialize_i16(i16), serialize_i32(i32),
        serialize_i64(i64), serialize_u8(u8), serialize_u16(u16), serialize_u32(u32),
        serialize_u64(u64), serialize_char(char), serialize_str(&str),
    }

    // floats as JSON writes them (no row has one today)
    fn serialize_f32(self, v: f32) -> Result<(), Failure> {
        self.serialize_f64(f64::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Failure> {
        let json = serde_json::to_string(&v).map_err(|e| Failure::Other(e.to_string()))?;
        self.0.push_str(&json);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Failure> {
        Ok(())
    }
    fn serialize_unit(self) -> Result<(), Failure> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Failure> {
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<(), Failure> {
        self.0.push_str(variant);
        Ok(())
    }
    fn serialize_some<V: Serialize + ?Sized>(self, v: &V) -> Result<(), Failure> {
        v.serialize(self)
    }
    fn serialize_newtype_struct<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        v: &V,
    ) -> Result<(), Failure> {
        v.serialize(self)
    }
    fn serialize_newtype_variant<V: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &V,
    ) -> Result<(), Failure> {
        Err(Failure::Nested)
    }

    refuse! { Failure::Nested;
        serialize_bytes(&[u8]) -> (),
        serialize_seq(Option<usize>) -> Self::SerializeSeq,
        serialize_tuple(usize) -> Self::SerializeTuple,
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct,
        serialize_tuple_variant(&'static str, u32, &'static str, usize)
            -> Self::SerializeTupleVariant,
        serialize_map(Option<usize>) -> Self::SerializeMap,
        serialize_struct(&'static str, usize) -> Self::SerializeStruct,
        serialize_struct_variant(&'static str, u32, &'static str, usize)
            -> Self::SerializeStructVariant,
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    #[derive(Serialize)]
    #[serde(rename_all = "UPPERCASE")]
    enum Role {
        Sales,
    }

    #[derive(Serialize)]
    struct Row {
        id: i64,
        name: String,
        phone: Option<String>,
        role: Role,
        paid: bool,
        at: chrono::DateTime<chrono::Utc>,
        changes: serde_json::Value,
        ratio: f64,
    }

    fn csv_of(row: &Row) -> String {
        let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::CRLF).from_writer(vec![]);
        super::write_record(&mut w, row).unwrap();
        String::from_utf8(w.into_inner().unwrap()).unwrap()
    }

    #[test]
    fn cells_are_what_json_says_and_nested_values_are_json() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-28T10:15:02.5Z").unwrap().into();
        let row = Row {
            id: 7,
            name: "Ann \"A\", Lee".into(),
            phone: None,
            role: Role::Sales,
            paid: true,
            at,
            changes: serde_json::json!({"name": ["a", "b"]}),
            ratio: 0.5,
        };
        let json = serde_json::to_value(&row).unwrap();
        assert_eq!(json["at"], "2026-11-28T10:15:02.500Z");
        assert_eq!(
            csv_of(&row),
            "7,\"Ann \"\"A\"\", Lee\",,SALES,true,2026-11-28T10:15:02.500Z,\
             \"{\"\"name\"\":[\"\"a\"\",\"\"b\"\"]}\",0.5\r\n"
        );
    }
}
