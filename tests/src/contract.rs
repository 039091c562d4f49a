//! The API's own contract, checked from the outside: every answer a test gets is
//! compared with what `docs/openapi.json` (the committed spec, which the
//! `openapi` test keeps equal to the code's) promises for that operation and
//! status: declared status codes, types, required properties, nullability,
//! enums and numeric bounds, following `$ref`s. A property the server sends as
//! `null` must be declared nullable; one the spec requires must be there.
//!
//! This is the spec read as a client generator reads it, so any drift between
//! what the server says and what it does fails the test that saw it.

use serde_json::Value;
use std::sync::OnceLock;

/// The committed spec.
pub fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
        serde_json::from_slice(&std::fs::read(&path).expect("docs/openapi.json"))
            .expect("docs/openapi.json is JSON")
    })
}

/// Asserts that `body`, answered with `status` to `method` on the API path
/// `template` (as the spec writes it, e.g. `/customers/{id}`), is what the
/// spec promises.
pub fn assert_conforms(method: &str, template: &str, status: u16, body: &Value) {
    let spec = spec();
    let op = &spec["paths"][template][method.to_ascii_lowercase()];
    assert!(op.is_object(), "{method} {template} is not in the spec");
    let response = &op["responses"][status.to_string()];
    assert!(
        response.is_object(),
        "{method} {template}: status {status} is not declared in the spec"
    );
    let Some(content) = response["content"].as_object() else {
        return;
    };
    let Some(schema) = content
        .iter()
        .find(|(k, _)| k.starts_with("application/json"))
        .map(|(_, v)| &v["schema"])
    else {
        return;
    };
    if let Err(e) = check(spec, schema, body, "$") {
        panic!("{method} {template} {status}: {e}\nbody: {body}");
    }
}

fn resolve<'a>(spec: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.trim_start_matches("#/components/schemas/");
            resolve(spec, &spec["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// Checks `value` at `path` against `schema` (OpenAPI 3.0).
pub fn check(spec: &Value, schema: &Value, value: &Value, path: &str) -> Result<(), String> {
    let schema = resolve(spec, schema);
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            check(spec, s, value, path)?;
        }
        return Ok(());
    }
    if let Some(one) = schema["oneOf"].as_array().or(schema["anyOf"].as_array()) {
        return match one.iter().any(|s| check(spec, s, value, path).is_ok()) {
            true => Ok(()),
            false => Err(format!("{path}: matches none of its alternatives")),
        };
    }
    if value.is_null() {
        return match schema["nullable"].as_bool() == Some(true) {
            true => Ok(()),
            false => Err(format!("{path}: null, but the spec does not say nullable")),
        };
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Err(format!("{path}: {value} is not one of {allowed:?}"));
    }
    let ty = schema["type"].as_str().unwrap_or_default();
    let ok = match ty {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    };
    if !ok {
        return Err(format!("{path}: {value} is not of type {ty}"));
    }
    if let Some(n) = value.as_f64() {
        if schema["minimum"].as_f64().is_some_and(|m| n < m) {
            return Err(format!("{path}: {n} is below the declared minimum"));
        }
        if schema["maximum"].as_f64().is_some_and(|m| n > m) {
            return Err(format!("{path}: {n} is above the declared maximum"));
        }
    }
    if let Some(items) = value.as_array() {
        for (i, v) in items.iter().enumerate() {
            check(spec, &schema["items"], v, &format!("{path}[{i}]"))?;
        }
    }
    if let Some(obj) = value.as_object() {
        for r in schema["required"].as_array().into_iter().flatten() {
            let name = r.as_str().unwrap_or_default();
            if !obj.contains_key(name) {
                return Err(format!("{path}: the required property {name} is missing"));
            }
        }
        if let Some(props) = schema["properties"].as_object() {
            for (k, v) in obj {
                match props.get(k) {
                    Some(s) => check(spec, s, v, &format!("{path}.{k}"))?,
                    None if schema["additionalProperties"].is_object() => check(
                        spec,
                        &schema["additionalProperties"],
                        v,
                        &format!("{path}.{k}"),
                    )?,
                    None => return Err(format!("{path}: {k} is not declared")),
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::check;
    use serde_json::json;

    #[test]
    fn nulls_missing_properties_wrong_types_and_enums_are_caught() {
        let spec = json!({"components": {"schemas": {"Out": {
            "type": "object", "required": ["id"],
            "properties": {
                "id": {"type": "string"},
                "company": {"type": "string"},
                "maybe": {"type": "string", "nullable": true},
                "kind": {"type": "string", "enum": ["a", "b"]},
                "n": {"type": "integer", "minimum": 1},
            }
        }}}});
        let schema = json!({"$ref": "#/components/schemas/Out"});
        let ok = |v| check(&spec, &schema, &v, "$");
        assert!(ok(json!({"id": "x", "maybe": null, "kind": "a", "n": 2})).is_ok());
        assert!(
            ok(json!({"id": "x", "company": null}))
                .unwrap_err()
                .contains("nullable")
        );
        assert!(
            ok(json!({"company": "c"}))
                .unwrap_err()
                .contains("required")
        );
        assert!(ok(json!({"id": 5})).unwrap_err().contains("type string"));
        assert!(
            ok(json!({"id": "x", "kind": "c"}))
                .unwrap_err()
                .contains("one of")
        );
        assert!(
            ok(json!({"id": "x", "n": 0}))
                .unwrap_err()
                .contains("minimum")
        );
        assert!(
            ok(json!({"id": "x", "extra": 1}))
                .unwrap_err()
                .contains("not declared")
        );
    }
}
