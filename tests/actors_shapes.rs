//! JSON shapes (`grove::actors::shape!` and `Shape`): every rule of the
//! shape table with a matching and a non-matching case — objects, arrays
//! `[s]`, tuples `(a, b)`, literals, the kinds `int` / `float` / `num` /
//! `str` / `bool` / `null` / `any` — nested and composed shapes, the
//! `Shape::` constructors agreeing with the macro; selective receive by
//! shape (`receive_shapes`, `receive_shapes_timeout`); and the JSON forms
//! of `Exit` and `Down` in a `Ctx<serde_json::Value>` mailbox.

use std::time::Duration;

use grove::actors::{self, shape, Ctx, ExitReason, Shape};
use serde_json::{json, Value};

/// Asserts that `shape` matches every value of `yes` and none of `no`.
#[track_caller]
fn check(shape: &Shape, yes: &[Value], no: &[Value]) {
    for v in yes {
        assert!(shape.matches(v), "{shape:?} should match {v}");
    }
    for v in no {
        assert!(!shape.matches(v), "{shape:?} should not match {v}");
    }
}

/// Parses JSON text (to get numbers exactly as written).
fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

// ---------------------------------------------------------------------
// Objects
// ---------------------------------------------------------------------

#[test]
fn object_needs_every_key_of_the_shape_with_a_matching_value() {
    let user = shape!({"name": str, "age": int});
    check(
        &user,
        &[
            json!({"name": "ada", "age": 36}),
            json!({"age": 36, "name": "ada"}), // key order does not matter
        ],
        &[
            json!({"name": "ada", "age": "36"}), // wrong type
            json!({"name": 1, "age": 36}),       // wrong type
            json!({"name": "ada", "age": null}), // null is not an int
        ],
    );
}

#[test]
fn object_allows_extra_keys() {
    check(
        &shape!({"id": int}),
        &[
            json!({"id": 1, "extra": true}),
            json!({"id": 1, "a": [], "b": {}, "c": null}),
        ],
        &[json!({"extra": true})],
    );
}

#[test]
fn object_with_a_missing_key_fails() {
    let s = shape!({"name": str, "age": int});
    check(
        &s,
        &[json!({"name": "x", "age": 1})],
        &[
            json!({"name": "ada"}),
            json!({"age": 36}),
            json!({}),
            json!({"Name": "ada", "age": 36}), // keys are case-sensitive
        ],
    );
    // A key that must be there even with `any` as its shape.
    check(
        &shape!({"k": any}),
        &[json!({"k": null}), json!({"k": [1]})],
        &[json!({"K": 1}), json!({})],
    );
}

#[test]
fn object_shape_fails_on_non_objects() {
    check(
        &shape!({"id": int}),
        &[json!({"id": 1})],
        &[
            json!([["id", 1]]),
            json!([{"id": 1}]),
            json!("id"),
            json!(1),
            json!(null),
            json!(true),
        ],
    );
    // The empty object shape matches every object and only objects.
    let empty = shape!({});
    assert_eq!(empty, Shape::object(Vec::<(String, Shape)>::new()));
    check(
        &empty,
        &[json!({}), json!({"a": 1})],
        &[json!([]), json!(null), json!("{}")],
    );
}

// ---------------------------------------------------------------------
// Arrays [s]
// ---------------------------------------------------------------------

#[test]
fn array_shape_needs_every_item_to_match() {
    check(
        &shape!([str]),
        &[json!(["a"]), json!(["a", "b", "c"]), json!([""])],
        &[
            json!(["a", 1]),       // one bad item
            json!([1, "a"]),       // first item bad
            json!(["a", null]),    // null is not a string
            json!(["a", ["b"]]),   // nested array is not a string
            json!([["a"], ["b"]]), // array of arrays
        ],
    );
    check(
        &shape!([int]),
        &[json!([1, -2, 3])],
        &[json!([1, 2.5]), json!([1, "2"])],
    );
}

#[test]
fn array_shape_matches_the_empty_array() {
    for s in [
        shape!([str]),
        shape!([int]),
        shape!([{"x": int}]),
        shape!([[any]]),
    ] {
        assert!(s.matches(&json!([])), "{s:?}");
    }
}

#[test]
fn array_shape_fails_on_non_arrays() {
    check(
        &shape!([any]),
        &[json!([]), json!([1, "x", null])],
        &[
            json!({}),
            json!({"0": 1}),
            json!("abc"),
            json!(null),
            json!(0),
            json!(false),
        ],
    );
}

// ---------------------------------------------------------------------
// Tuples (a, b)
// ---------------------------------------------------------------------

#[test]
fn tuple_shape_matches_element_by_element_with_exact_length() {
    let credit = shape!(("credit", float));
    check(
        &credit,
        &[json!(["credit", 9.5]), json!(["credit", 0.25])],
        &[
            json!(["debit", 9.5]),    // first element differs
            json!(["credit", 9]),     // 9 is not a float
            json!(["credit", "9.5"]), // a string is not a float
            json!([9.5, "credit"]),   // order matters
        ],
    );
    check(
        &shape!((int, str, bool)),
        &[json!([1, "a", true])],
        &[json!([1, "a", "true"]), json!(["1", "a", true])],
    );
}

#[test]
fn tuple_shape_too_short_or_too_long_fails() {
    let pair = shape!((int, int));
    check(
        &pair,
        &[json!([1, 2])],
        &[json!([]), json!([1]), json!([1, 2, 3]), json!([1, 2, 3, 4])],
    );
    // One element, and none.
    check(
        &shape!((str)),
        &[json!(["a"])],
        &[json!([]), json!(["a", "b"])],
    );
    check(&shape!(()), &[json!([])], &[json!([1]), json!({})]);
    // Not an array at all.
    check(
        &pair,
        &[],
        &[json!({"0": 1, "1": 2}), json!("12"), json!(null)],
    );
}

// ---------------------------------------------------------------------
// Literals
// ---------------------------------------------------------------------

#[test]
fn literal_strings() {
    check(
        &shape!("credit"),
        &[json!("credit")],
        &[
            json!("Credit"),
            json!("credit "),
            json!(""),
            json!(["credit"]),
            json!(null),
        ],
    );
    check(&shape!(""), &[json!("")], &[json!(" "), json!(null)]);
}

#[test]
fn literal_integers_including_negative() {
    check(
        &shape!(3),
        &[json!(3), parse("3")],
        &[json!(4), json!(-3), json!("3"), json!([3])],
    );
    check(
        &shape!(0),
        &[json!(0)],
        &[json!(false), json!(null), json!("0")],
    );
    check(
        &shape!(-1),
        &[json!(-1), parse("-1")],
        &[json!(1), json!(-2), json!("-1")],
    );
    check(&shape!(-42), &[parse("-42")], &[parse("42")]);
}

#[test]
fn literal_floats_including_negative() {
    check(
        &shape!(2.5),
        &[json!(2.5), parse("2.5"), parse("25e-1")],
        &[json!(2.6), json!(-2.5), json!("2.5")],
    );
    check(
        &shape!(-0.75),
        &[json!(-0.75), parse("-0.75")],
        &[json!(0.75), json!(-0.7)],
    );
}

#[test]
fn literal_true_and_false() {
    check(
        &shape!(true),
        &[json!(true)],
        &[json!(false), json!(1), json!("true"), json!(null)],
    );
    check(
        &shape!(false),
        &[json!(false)],
        &[json!(true), json!(0), json!("false"), json!(null)],
    );
}

#[test]
fn literals_inside_objects_and_tuples() {
    let ok = shape!({"status": "ok", "code": 200, "retry": false, "delta": -1});
    check(
        &ok,
        &[json!({"status": "ok", "code": 200, "retry": false, "delta": -1, "x": 0})],
        &[
            json!({"status": "error", "code": 200, "retry": false, "delta": -1}),
            json!({"status": "ok", "code": 201, "retry": false, "delta": -1}),
            json!({"status": "ok", "code": 200, "retry": true, "delta": -1}),
            json!({"status": "ok", "code": 200, "retry": false, "delta": 1}),
        ],
    );
    check(
        &shape!(("move", -1, 2.5, true)),
        &[json!(["move", -1, 2.5, true])],
        &[
            json!(["move", 1, 2.5, true]),
            json!(["move", -1, 2.5, false]),
        ],
    );
}

// ---------------------------------------------------------------------
// The kinds
// ---------------------------------------------------------------------

#[test]
fn int_matches_integers_only() {
    check(
        &shape!(int),
        &[
            json!(5),
            json!(-3),
            json!(0),
            json!(u64::MAX),
            json!(i64::MIN),
            parse("7"),
        ],
        &[
            json!(5.5),
            json!("5"),
            json!(5.0), // written as a float
            parse("5.0"),
            parse("1e3"),
            json!(true),
            json!(null),
            json!([5]),
        ],
    );
}

#[test]
fn float_matches_numbers_written_with_a_fraction_or_exponent() {
    check(
        &shape!(float),
        &[
            json!(2.5),
            json!(1e3),
            parse("1e3"),
            parse("2.0"),
            parse("-0.5"),
            parse("6.02E23"),
        ],
        &[
            json!(2),
            parse("2"),
            json!(-7),
            json!("2.5"),
            json!(null),
            json!(false),
        ],
    );
}

#[test]
fn num_matches_any_number() {
    check(
        &shape!(num),
        &[
            json!(2),
            json!(-2),
            json!(2.5),
            parse("1e3"),
            json!(u64::MAX),
        ],
        &[
            json!("2"),
            json!(null),
            json!(true),
            json!([1]),
            json!({"n": 1}),
        ],
    );
}

#[test]
fn str_matches_strings() {
    check(
        &shape!(str),
        &[json!("x"), json!(""), json!("with \"quotes\"")],
        &[
            json!(1),
            json!(null),
            json!(["x"]),
            json!({"x": "x"}),
            json!(false),
        ],
    );
}

#[test]
fn bool_matches_true_and_false() {
    check(
        &shape!(bool),
        &[json!(true), json!(false)],
        &[
            json!(0),
            json!(1),
            json!("true"),
            json!(null),
            json!([true]),
        ],
    );
}

#[test]
fn null_matches_null() {
    check(
        &shape!(null),
        &[json!(null), Value::Null],
        &[
            json!(0),
            json!(false),
            json!(""),
            json!([]),
            json!({}),
            json!("null"),
        ],
    );
}

#[test]
fn any_matches_anything() {
    check(
        &shape!(any),
        &[
            json!(null),
            json!(0),
            json!(-1.5),
            json!(""),
            json!(true),
            json!([]),
            json!({}),
            json!([{"deep": [null]}]),
        ],
        &[],
    );
    check(
        &shape!((any, any)),
        &[json!([null, {}]), json!([1, [2]])],
        &[json!([1]), json!([1, 2, 3])],
    );
}

// ---------------------------------------------------------------------
// Nesting and composition
// ---------------------------------------------------------------------

#[test]
fn nested_shapes() {
    let order = shape!({
        "id": int,
        "customer": {"name": str, "vip": bool},
        "lines": [("item", str, int)],
        "total": num,
        "note": any,
    });
    let good = json!({
        "id": 7,
        "customer": {"name": "ada", "vip": false, "since": 2020},
        "lines": [["item", "tea", 2], ["item", "cake", 1]],
        "total": 12.5,
        "note": null,
    });
    assert!(order.matches(&good));
    let mut no_lines = good.clone();
    no_lines["lines"] = json!([]);
    assert!(order.matches(&no_lines));

    // One wrong thing anywhere deep inside is enough to fail.
    let breakages = [
        ("/customer/vip", json!("no")),
        ("/customer", json!("ada")),
        ("/lines/1/0", json!("thing")),
        ("/lines/1/2", json!(1.5)),
        ("/lines/0", json!(["item", "tea"])),
        ("/total", json!("12.5")),
    ];
    for (path, bad) in breakages {
        let mut v = good.clone();
        *v.pointer_mut(path).unwrap() = bad.clone();
        assert!(!order.matches(&v), "{path} = {bad} should fail");
    }
    let mut v = good.clone();
    v["customer"].as_object_mut().unwrap().remove("name");
    assert!(!order.matches(&v));

    check(
        &shape!([[int]]),
        &[json!([[1], [], [2, 3]]), json!([])],
        &[json!([[1], [2.5]]), json!([1, [2]])],
    );
}

#[test]
fn shapes_compose_from_variables() {
    let point = shape!({"x": num, "y": num});
    let path = shape!([point]);
    let segment = shape!((point, point));
    let drawing = shape!({"name": str, "paths": [path], "box": segment, "origin": point});

    check(
        &path,
        &[
            json!([]),
            json!([{"x": 0, "y": 1.5}, {"x": -1, "y": 2, "z": 0}]),
        ],
        &[json!([{"x": 0}]), json!([{"x": 0, "y": "1"}])],
    );
    check(
        &segment,
        &[json!([{"x": 0, "y": 0}, {"x": 1, "y": 1}])],
        &[
            json!([{"x": 0, "y": 0}]),
            json!([{"x": 0, "y": 0}, {"y": 1}]),
        ],
    );
    let d = json!({
        "name": "d",
        "paths": [[{"x": 0, "y": 0}], []],
        "box": [{"x": 0, "y": 0}, {"x": 9, "y": 9}],
        "origin": {"x": 0, "y": 0},
    });
    assert!(drawing.matches(&d));
    let mut bad = d.clone();
    bad["paths"][0][0]["y"] = json!(null);
    assert!(!drawing.matches(&bad));
    // The variable is cloned, not moved: still usable.
    assert!(point.matches(&json!({"x": 1, "y": 2})));
}

#[test]
fn constructors_agree_with_the_macro() {
    assert_eq!(shape!(any), Shape::any());
    assert_eq!(shape!(int), Shape::int());
    assert_eq!(shape!(float), Shape::float());
    assert_eq!(shape!(num), Shape::num());
    assert_eq!(shape!(str), Shape::str());
    assert_eq!(shape!(bool), Shape::bool());
    assert_eq!(shape!(null), Shape::null());
    assert_eq!(shape!("credit"), Shape::eq("credit"));
    assert_eq!(shape!(3), Shape::eq(3));
    assert_eq!(shape!(-3), Shape::eq(-3));
    assert_eq!(shape!(2.5), Shape::eq(2.5));
    assert_eq!(shape!(true), Shape::eq(true));
    assert_eq!(shape!(false), Shape::eq(false));
    assert_eq!(shape!([str]), Shape::array_of(Shape::str()));
    assert_eq!(
        shape!(("credit", float)),
        Shape::tuple([Shape::eq("credit"), Shape::float()])
    );
    assert_eq!(
        shape!({"name": int, "tags": [str]}),
        Shape::object([
            ("name", Shape::int()),
            ("tags", Shape::array_of(Shape::str())),
        ])
    );
    let p = Shape::object([("x", Shape::num())]);
    assert_eq!(shape!([p]), Shape::array_of(p.clone()));
    // Different shapes are not equal.
    assert_ne!(shape!(int), shape!(num));
    assert_ne!(shape!([int]), shape!((int)));

    // And they match the same values.
    let by_hand = Shape::object([
        ("kind", Shape::eq("evt")),
        ("at", Shape::tuple([Shape::int(), Shape::int()])),
        ("tags", Shape::array_of(Shape::str())),
    ]);
    let by_macro = shape!({"kind": "evt", "at": (int, int), "tags": [str]});
    for v in [
        json!({"kind": "evt", "at": [1, 2], "tags": []}),
        json!({"kind": "evt", "at": [1, 2, 3], "tags": []}),
        json!({"kind": "evt", "at": [1, 2], "tags": [1]}),
        json!({"kind": "other", "at": [1, 2], "tags": ["a"]}),
    ] {
        assert_eq!(by_hand.matches(&v), by_macro.matches(&v), "{v}");
    }
}

// ---------------------------------------------------------------------
// Receiving by shape
// ---------------------------------------------------------------------

#[test]
fn receive_shapes_returns_the_index_of_the_first_matching_shape() {
    let h = actors::spawn(|ctx: &mut Ctx<Value>| {
        let specific = shape!({"event": "tick", "n": int});
        let general = shape!({"event": str});
        let data = shape!(("data", any));
        let me = ctx.addr();
        me.send(json!({"event": "tick", "n": 1})); // matches both object shapes
        me.send(json!({"event": "tock"})); // only the general one
        me.send(json!(["data", 5]));
        me.send(json!({"event": "tick", "n": 2}));
        vec![
            ctx.receive_shapes(&[&specific, &general, &data]),
            ctx.receive_shapes(&[&specific, &general, &data]),
            ctx.receive_shapes(&[&data, &specific, &general]),
            // The general shape first: it is the first one matched.
            ctx.receive_shapes(&[&general, &specific]),
        ]
    });
    let got = h.wait().unwrap();
    assert_eq!(
        got,
        [
            (0, json!({"event": "tick", "n": 1})),
            (1, json!({"event": "tock"})),
            (0, json!(["data", 5])),
            (0, json!({"event": "tick", "n": 2})),
        ]
    );
}

#[test]
fn receive_shapes_leaves_non_matching_messages_in_order() {
    let h = actors::spawn(|ctx: &mut Ctx<Value>| {
        let wanted = shape!({"want": int});
        let me = ctx.addr();
        let msgs = [
            json!("a"),
            json!({"want": 1}),
            json!([1, 2]),
            json!({"want": "not an int"}),
            json!({"want": 2}),
            json!(null),
        ];
        for m in &msgs {
            me.send(m.clone());
        }
        let first = ctx.receive_shapes(&[&wanted]);
        let second = ctx.receive_shapes(&[&wanted]);
        me.send(json!("late"));
        let rest: Vec<Value> = std::iter::from_fn(|| ctx.try_receive()).collect();
        (first, second, rest)
    });
    let (first, second, rest) = h.wait().unwrap();
    assert_eq!(first, (0, json!({"want": 1})));
    assert_eq!(second, (0, json!({"want": 2})));
    assert_eq!(
        rest,
        [
            json!("a"),
            json!([1, 2]),
            json!({"want": "not an int"}),
            json!(null),
            json!("late"),
        ]
    );
}

#[test]
fn receive_shapes_waits_for_a_match_to_arrive() {
    let rt = grove::Runtime::builder().workers(1).build().unwrap();
    rt.block_on(|| {
        let ready = std::sync::Arc::new(grove::sync::Event::new());
        let h = actors::spawn({
            let ready = ready.clone();
            move |ctx: &mut Ctx<Value>| {
                ready.set();
                let r = ctx.receive_shapes(&[&shape!(("go", int))]);
                (r, ctx.try_receive())
            }
        });
        ready.wait();
        let a = h.addr();
        a.send(json!(["go", "not yet"]));
        grove::yield_now();
        a.send_json(&("go", 3)).unwrap();
        let (r, rest) = h.wait().unwrap();
        assert_eq!(r, (0, json!(["go", 3])));
        assert_eq!(rest, Some(json!(["go", "not yet"])));
    });
}

#[test]
fn receive_shapes_timeout_gives_none_and_keeps_the_mailbox() {
    let h = actors::spawn(|ctx: &mut Ctx<Value>| {
        let me = ctx.addr();
        me.send(json!({"x": "1"}));
        me.send(json!([1]));
        let none = ctx.receive_shapes_timeout(&[&shape!({"x": int})], Duration::from_millis(10));
        me.send(json!({"x": 1}));
        let some = ctx.receive_shapes_timeout(
            &[&shape!([str]), &shape!({"x": int})],
            Duration::from_millis(10),
        );
        let rest: Vec<Value> = std::iter::from_fn(|| ctx.try_receive()).collect();
        (none, some, rest)
    });
    let (none, some, rest) = h.wait().unwrap();
    assert_eq!(none, None);
    assert_eq!(some, Some((1, json!({"x": 1}))));
    assert_eq!(rest, [json!({"x": "1"}), json!([1])]);
}

// ---------------------------------------------------------------------
// Exit and Down as JSON
// ---------------------------------------------------------------------

#[test]
fn trapped_exits_arrive_as_json_objects() {
    let h = actors::spawn(|ctx: &mut Ctx<Value>| {
        ctx.trap_exit(true);
        let exit = shape!({"exit": int, "reason": any});
        let me = ctx.addr();
        me.send(json!({"noise": 1}));

        let panicked = ctx.spawn_link(|_: &mut Ctx<()>| -> () { panic!("json boom") });
        let (_, e1) = ctx.receive_shapes(&[&exit]);
        assert_eq!(
            e1,
            json!({"exit": panicked.id().as_u64(), "reason": {"panic": "json boom"}})
        );
        assert!(shape!({"exit": int, "reason": {"panic": str}}).matches(&e1));

        let normal = ctx.spawn_link(|_: &mut Ctx<()>| ());
        let (_, e2) = ctx.receive_shapes(&[&exit]);
        assert_eq!(
            e2,
            json!({"exit": normal.id().as_u64(), "reason": "normal"})
        );
        assert!(shape!({"exit": int, "reason": "normal"}).matches(&e2));

        let custom =
            ctx.spawn_link(|c: &mut Ctx<()>| -> () { c.exit(ExitReason::Custom("tired".into())) });
        let (_, e3) = ctx.receive_shapes(&[&exit]);
        assert_eq!(
            e3,
            json!({"exit": custom.id().as_u64(), "reason": {"custom": "tired"}})
        );

        let killed = ctx.spawn_link(|c: &mut Ctx<()>| c.receive());
        killed.kill();
        let (_, e4) = ctx.receive_shapes(&[&exit]);
        assert_eq!(
            e4,
            json!({"exit": killed.id().as_u64(), "reason": "killed"})
        );

        let shut = ctx.spawn_link(|c: &mut Ctx<()>| c.receive());
        shut.addr().exit(ctx.id(), ExitReason::Shutdown);
        let (_, e5) = ctx.receive_shapes(&[&exit]);
        assert_eq!(
            e5,
            json!({"exit": shut.id().as_u64(), "reason": "shutdown"})
        );

        // The ordinary message was skipped every time, and is still there.
        (ctx.try_receive(), ctx.try_receive())
    });
    assert_eq!(h.wait().unwrap(), (Some(json!({"noise": 1})), None));
}

#[test]
fn monitor_down_arrives_as_a_json_object() {
    let h = actors::spawn(|ctx: &mut Ctx<Value>| {
        let down = shape!({"down": int, "actor": int, "reason": any});
        let me = ctx.addr();

        let worker = ctx.spawn(|c: &mut Ctx<()>| -> () {
            c.receive();
            panic!("worker down")
        });
        let r = ctx.monitor(&worker.addr());
        me.send(json!(["unrelated", 1]));
        worker.addr().send(());
        let (i, d) = ctx.receive_shapes(&[&shape!({"exit": int}), &down]);
        assert_eq!(i, 1);
        assert_eq!(
            d,
            json!({
                "down": r.as_u64(),
                "actor": worker.id().as_u64(),
                "reason": {"panic": "worker down"},
            })
        );

        // Monitoring an actor that already ended: its Down comes at once.
        let stale = actors::spawn(|_: &mut Ctx<()>| ());
        let stale_addr = stale.addr();
        stale.wait().unwrap();
        let r2 = ctx.monitor(&stale_addr);
        let (_, d2) = ctx.receive_shapes(&[&down]);
        assert_eq!(
            d2,
            json!({"down": r2.as_u64(), "actor": stale_addr.id().as_u64(), "reason": "normal"})
        );
        // Selective: the unrelated message is still first in line.
        ctx.try_receive()
    });
    assert_eq!(h.wait().unwrap(), Some(json!(["unrelated", 1])));
}
