//! JSON shapes: python-actors' patterns for `serde_json::Value` messages,
//! and selective receive by shape.
//!
//! | shape | matches |
//! |---|---|
//! | `any` | anything |
//! | `int` | an integer number (`5`, `-3`; not `5.0`) |
//! | `float` | a number written with a fraction or exponent (`2.5`, `1e3`) |
//! | `num` | any number |
//! | `str` | a string |
//! | `bool` | `true` or `false` |
//! | `null` | `null` |
//! | a literal (`"credit"`, `3`, `true`) | an equal value |
//! | `{"k": s, ..}` | an object with every key of the shape, each value matching; extra keys allowed |
//! | `[s]` | an array whose every item matches `s` (an empty array too) |
//! | `(a, b, ..)` | an array of exactly that length, element by element |
//!
//! [`shape!`](crate::shape!) builds a [`Shape`] from that notation; the
//! constructors on `Shape` build the same values from code.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::ctx::Ctx;

/// A pattern over JSON values (pyact's patterns), built with
/// [`shape!`](crate::shape!) or the constructors below; test one value
/// with [`matches`](Shape::matches), receive by shape with
/// [`Ctx::receive_shapes`].
///
/// ```
/// use grove_actors::shape;
/// use serde_json::json;
///
/// let user = shape!({"name": str, "age": int});
/// assert!(user.matches(&json!({"name": "ada", "age": 36, "extra": true})));
/// assert!(!user.matches(&json!({"name": "ada"})));
/// ```
#[derive(Clone, PartialEq)]
pub struct Shape {
    kind: Kind,
}

#[derive(Clone, PartialEq)]
enum Kind {
    Any,
    Int,
    Float,
    Num,
    Str,
    Bool,
    Null,
    Eq(Value),
    Object(Vec<(String, Shape)>),
    ArrayOf(Box<Shape>),
    Tuple(Vec<Shape>),
}

impl Shape {
    /// Matches anything (pyact's `object`).
    ///
    /// ```
    /// assert!(grove_actors::Shape::any().matches(&serde_json::json!([1, "x"])));
    /// ```
    pub fn any() -> Shape {
        Shape { kind: Kind::Any }
    }

    /// Matches integers.
    ///
    /// ```
    /// use serde_json::json;
    /// assert!(grove_actors::Shape::int().matches(&json!(-3)));
    /// assert!(!grove_actors::Shape::int().matches(&json!(3.5)));
    /// ```
    pub fn int() -> Shape {
        Shape { kind: Kind::Int }
    }

    /// Matches numbers with a fraction or exponent (JSON's floats).
    ///
    /// ```
    /// use serde_json::json;
    /// assert!(grove_actors::Shape::float().matches(&json!(2.5)));
    /// assert!(!grove_actors::Shape::float().matches(&json!(2)));
    /// ```
    pub fn float() -> Shape {
        Shape { kind: Kind::Float }
    }

    /// Matches any number.
    ///
    /// ```
    /// use serde_json::json;
    /// assert!(grove_actors::Shape::num().matches(&json!(2)));
    /// assert!(grove_actors::Shape::num().matches(&json!(2.5)));
    /// ```
    pub fn num() -> Shape {
        Shape { kind: Kind::Num }
    }

    /// Matches strings.
    ///
    /// ```
    /// assert!(grove_actors::Shape::str().matches(&serde_json::json!("x")));
    /// ```
    pub fn str() -> Shape {
        Shape { kind: Kind::Str }
    }

    /// Matches `true` and `false`.
    ///
    /// ```
    /// use serde_json::json;
    /// assert!(grove_actors::Shape::bool().matches(&json!(false)));
    /// assert!(!grove_actors::Shape::bool().matches(&json!(0)));
    /// ```
    pub fn bool() -> Shape {
        Shape { kind: Kind::Bool }
    }

    /// Matches `null`.
    ///
    /// ```
    /// assert!(grove_actors::Shape::null().matches(&serde_json::Value::Null));
    /// ```
    pub fn null() -> Shape {
        Shape { kind: Kind::Null }
    }

    /// Matches values equal to `value` (a literal).
    ///
    /// ```
    /// use serde_json::json;
    /// let s = grove_actors::Shape::eq("credit");
    /// assert!(s.matches(&json!("credit")));
    /// assert!(!s.matches(&json!("debit")));
    /// ```
    pub fn eq(value: impl Into<Value>) -> Shape {
        Shape {
            kind: Kind::Eq(value.into()),
        }
    }

    /// Matches objects that have every one of these keys with a matching
    /// value; other keys may be there too.
    ///
    /// ```
    /// use grove_actors::Shape;
    /// use serde_json::json;
    /// let s = Shape::object([("id", Shape::int())]);
    /// assert!(s.matches(&json!({"id": 1, "more": "ok"})));
    /// assert!(!s.matches(&json!({"id": "1"})));
    /// ```
    pub fn object<K: Into<String>>(fields: impl IntoIterator<Item = (K, Shape)>) -> Shape {
        Shape {
            kind: Kind::Object(fields.into_iter().map(|(k, s)| (k.into(), s)).collect()),
        }
    }

    /// Matches arrays whose every item matches `item` (and the empty
    /// array).
    ///
    /// ```
    /// use grove_actors::Shape;
    /// use serde_json::json;
    /// let s = Shape::array_of(Shape::str());
    /// assert!(s.matches(&json!(["a", "b"])));
    /// assert!(s.matches(&json!([])));
    /// assert!(!s.matches(&json!([1, "b"])));
    /// ```
    pub fn array_of(item: Shape) -> Shape {
        Shape {
            kind: Kind::ArrayOf(Box::new(item)),
        }
    }

    /// Matches arrays of exactly these many items, each matching its
    /// shape (pyact's tuples).
    ///
    /// ```
    /// use grove_actors::Shape;
    /// use serde_json::json;
    /// let s = Shape::tuple([Shape::eq("credit"), Shape::float()]);
    /// assert!(s.matches(&json!(["credit", 9.5])));
    /// assert!(!s.matches(&json!(["credit", 9.5, 1])));
    /// ```
    pub fn tuple(items: impl IntoIterator<Item = Shape>) -> Shape {
        Shape {
            kind: Kind::Tuple(items.into_iter().collect()),
        }
    }

    /// Whether `value` has this shape.
    ///
    /// ```
    /// use grove_actors::shape;
    /// use serde_json::json;
    /// assert!(shape!(("credit", float)).matches(&json!(["credit", 1.5])));
    /// ```
    pub fn matches(&self, value: &Value) -> bool {
        match &self.kind {
            Kind::Any => true,
            Kind::Int => value.is_i64() || value.is_u64(),
            Kind::Float => value.is_f64(),
            Kind::Num => value.is_number(),
            Kind::Str => value.is_string(),
            Kind::Bool => value.is_boolean(),
            Kind::Null => value.is_null(),
            Kind::Eq(v) => v == value,
            Kind::Object(fields) => match value.as_object() {
                Some(obj) => fields
                    .iter()
                    .all(|(k, s)| obj.get(k).is_some_and(|v| s.matches(v))),
                None => false,
            },
            Kind::ArrayOf(item) => value
                .as_array()
                .is_some_and(|items| items.iter().all(|v| item.matches(v))),
            Kind::Tuple(shapes) => value.as_array().is_some_and(|items| {
                items.len() == shapes.len() && shapes.iter().zip(items).all(|(s, v)| s.matches(v))
            }),
        }
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Any => f.write_str("any"),
            Kind::Int => f.write_str("int"),
            Kind::Float => f.write_str("float"),
            Kind::Num => f.write_str("num"),
            Kind::Str => f.write_str("str"),
            Kind::Bool => f.write_str("bool"),
            Kind::Null => f.write_str("null"),
            Kind::Eq(v) => write!(f, "{v}"),
            Kind::Object(fields) => {
                f.write_str("{")?;
                for (i, (k, s)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k:?}: {s:?}")?;
                }
                f.write_str("}")
            }
            Kind::ArrayOf(s) => write!(f, "[{s:?}]"),
            Kind::Tuple(items) => {
                f.write_str("(")?;
                for (i, s) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{s:?}")?;
                }
                f.write_str(")")
            }
        }
    }
}

impl Ctx<Value> {
    /// Selective receive by shape (pyact's `receive(DATA, EVENT)`): takes
    /// the oldest message that matches any of `shapes`, waiting for one,
    /// and returns the index of the first shape it matches and the message.
    ///
    /// ```
    /// use grove_actors::{self as actors, shape, Ctx};
    /// use serde_json::{json, Value};
    ///
    /// let h = actors::spawn(|ctx: &mut Ctx<Value>| {
    ///     let data = shape!(("data", str));
    ///     let event = shape!({"event": str, "data": any});
    ///     let me = ctx.addr();
    ///     me.send(json!({"noise": 1}));
    ///     me.send(json!({"event": "tick", "data": null}));
    ///     me.send(json!(["data", "payload"]));
    ///     let (i, first) = ctx.receive_shapes(&[&data, &event]);
    ///     let (j, second) = ctx.receive_shapes(&[&data, &event]);
    ///     (i, first, j, second, ctx.receive()) // the noise stayed, in order
    /// });
    /// let (i, first, j, second, noise) = h.wait().unwrap();
    /// assert_eq!((i, j), (1, 0));
    /// assert_eq!(first["event"], "tick");
    /// assert_eq!(second[1], "payload");
    /// assert_eq!(noise, json!({"noise": 1}));
    /// ```
    pub fn receive_shapes(&mut self, shapes: &[&Shape]) -> (usize, Value) {
        self.receive_with(|m| match shapes.iter().position(|s| s.matches(&m)) {
            Some(i) => Ok((i, m)),
            None => Err(m),
        })
    }

    /// Like [`receive_shapes`](Ctx::receive_shapes), but waits at most
    /// `timeout`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use grove_actors::{self as actors, shape, Ctx};
    /// let h = actors::spawn(|ctx: &mut Ctx<serde_json::Value>| {
    ///     ctx.receive_shapes_timeout(&[&shape!({"x": int})], Duration::from_millis(5))
    /// });
    /// assert_eq!(h.wait().unwrap(), None);
    /// ```
    pub fn receive_shapes_timeout(
        &mut self,
        shapes: &[&Shape],
        timeout: Duration,
    ) -> Option<(usize, Value)> {
        self.receive_with_timeout(timeout, |m| {
            match shapes.iter().position(|s| s.matches(&m)) {
                Some(i) => Ok((i, m)),
                None => Err(m),
            }
        })
    }
}

/// Builds a [`Shape`] from pyact's notation.
///
/// * `any`, `int`, `float`, `num`, `str`, `bool`, `null` — the kinds;
/// * literals: `"credit"`, `3`, `-1`, `2.5`, `true`, `false`;
/// * `{"key": shape, ...}` — an object with at least these keys;
/// * `[shape]` — an array of items of one shape;
/// * `(shape, shape, ...)` — an array of exactly these items;
/// * any other identifier — a `Shape` variable, to compose shapes.
///
/// ```
/// use grove_actors::shape;
/// use serde_json::json;
///
/// let point = shape!({"x": num, "y": num});
/// let path = shape!({"name": str, "points": [point], "closed": bool});
/// assert!(path.matches(&json!({
///     "name": "triangle", "closed": true,
///     "points": [{"x": 0, "y": 0}, {"x": 1.5, "y": 0}, {"x": 0, "y": 2}],
/// })));
/// assert!(shape!(("credit", float)).matches(&json!(["credit", 10.25])));
/// assert!(shape!([str]).matches(&json!([])));
/// assert!(shape!(any).matches(&json!(null)));
/// ```
#[macro_export]
macro_rules! shape {
    // The kinds.
    (any) => { $crate::Shape::any() };
    (int) => { $crate::Shape::int() };
    (float) => { $crate::Shape::float() };
    (num) => { $crate::Shape::num() };
    (str) => { $crate::Shape::str() };
    (bool) => { $crate::Shape::bool() };
    (null) => { $crate::Shape::null() };
    (true) => { $crate::Shape::eq(true) };
    (false) => { $crate::Shape::eq(false) };
    // The empty object shape: any object.
    ({}) => {
        $crate::Shape::object(::std::vec::Vec::<(::std::string::String, $crate::Shape)>::new())
    };
    // Objects: munch `"key": value,` pairs; a value runs to the next
    // top-level comma.
    ({ $($body:tt)* }) => {
        $crate::Shape::object($crate::shape!(@fields [] [] $($body)*))
    };
    // Arrays of one item shape.
    ([ $($item:tt)+ ]) => { $crate::Shape::array_of($crate::shape!($($item)+)) };
    // Tuples: munch items up to each top-level comma.
    (( $($body:tt)* )) => {
        $crate::Shape::tuple($crate::shape!(@items [] [] $($body)*))
    };
    // Negative number literals.
    (- $lit:literal) => { $crate::Shape::eq(-$lit) };
    // Other literals.
    ($lit:literal) => { $crate::Shape::eq($lit) };
    // A Shape variable.
    ($var:ident) => { ::std::clone::Clone::clone(&$var) };

    // -- object fields: [done pairs] [current value tokens] rest
    (@fields [$($done:tt)*] [] ) => { [$($done)*] };
    (@fields [$($done:tt)*] [$key:literal $($val:tt)+] ) => {
        $crate::shape!(@fields [$($done)* ($key, $crate::shape!($($val)+)),] [])
    };
    (@fields [$($done:tt)*] [$key:literal $($val:tt)+] , $($rest:tt)*) => {
        $crate::shape!(@fields [$($done)* ($key, $crate::shape!($($val)+)),] [] $($rest)*)
    };
    (@fields [$($done:tt)*] [] $key:literal : $($rest:tt)*) => {
        $crate::shape!(@fields [$($done)*] [$key] $($rest)*)
    };
    (@fields [$($done:tt)*] [$key:literal $($val:tt)*] $next:tt $($rest:tt)*) => {
        $crate::shape!(@fields [$($done)*] [$key $($val)* $next] $($rest)*)
    };

    // -- tuple items: [done items] [current item tokens] rest
    (@items [$($done:tt)*] [] ) => { [$($done)*] };
    (@items [$($done:tt)*] [$($cur:tt)+] ) => {
        $crate::shape!(@items [$($done)* $crate::shape!($($cur)+),] [])
    };
    (@items [$($done:tt)*] [$($cur:tt)+] , $($rest:tt)*) => {
        $crate::shape!(@items [$($done)* $crate::shape!($($cur)+),] [] $($rest)*)
    };
    (@items [$($done:tt)*] [$($cur:tt)*] $next:tt $($rest:tt)*) => {
        $crate::shape!(@items [$($done)*] [$($cur)* $next] $($rest)*)
    };
}
