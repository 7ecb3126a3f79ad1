//! `GET /api/v1/openapi.json` describes every `/api/v1` route and the JWK Set, and nothing
//! else: each
//! described operation exists, no other method answers on a described path, and every
//! endpoint of SPEC §7 that exists today is described.

use crate::common::*;
use serde_json::Value;

db_tests!(the_description_matches_the_routes);

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

/// The SPEC §7 endpoints this server serves (method, path).
const SPEC_ENDPOINTS: &[(&str, &str)] = &[
    ("post", "/api/v1/auth/token"),
    ("post", "/api/v1/auth/jwt"),
    ("post", "/api/v1/auth/jwt/refresh"),
    ("post", "/api/v1/auth/logout"),
    ("post", "/api/v1/auth/reauth"),
    ("get", "/api/v1/session"),
    ("post", "/api/v1/session/extend"),
    ("post", "/api/v1/session/tabs"),
    ("get", "/api/v1/sessions"),
    ("delete", "/api/v1/sessions"),
    ("delete", "/api/v1/sessions/{id}"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/.well-known/jwks.json"),
    ("get", "/api/v1/admin/sessions"),
    ("delete", "/api/v1/admin/sessions/{id}"),
    ("get", "/api/v1/admin/activity"),
    ("get", "/api/v1/admin/users"),
    ("post", "/api/v1/admin/users"),
    ("post", "/api/v1/admin/users/{name}/disable"),
    ("post", "/api/v1/admin/users/{name}/enable"),
    ("post", "/api/v1/admin/users/{name}/sign-out"),
    ("post", "/api/v1/admin/sessions/sign-out-all"),
];

async fn the_description_matches_the_routes(db: TestDb) {
    let app = spawn_app(db).await;
    let client = browser();
    let doc: Value = client
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().expect("paths");
    let mut described = Vec::new();
    for (path, item) in paths {
        assert!(
            path.starts_with("/api/v1/") || path == "/.well-known/jwks.json",
            "{path}"
        );
        let concrete = path.replace("{id}", "0123").replace("{name}", "nobody");
        for method in METHODS {
            let request = client
                .request(method.to_uppercase().parse().unwrap(), app.url(&concrete))
                .header("origin", &app.address)
                .header("content-type", "application/json")
                .body("{}");
            let status = request.send().await.unwrap().status().as_u16();
            match item.get(method) {
                Some(operation) => {
                    described.push((method, path.clone()));
                    assert!(
                        status != 404 || path.contains('{'),
                        "{method} {path} is described but not routed"
                    );
                    assert_ne!(status, 405, "{method} {path} is described but not routed");
                    let responses = operation["responses"].as_object().unwrap();
                    assert!(!responses.is_empty(), "{method} {path} has no responses");
                    for (code, response) in responses {
                        if code.starts_with('4') || code.starts_with('5') {
                            let schema = &response["content"]["application/json"]["schema"];
                            assert_eq!(
                                schema["$ref"], "#/components/schemas/ErrorBody",
                                "{method} {path} {code} is not the error shape"
                            );
                        }
                    }
                }
                None => assert_eq!(status, 405, "{method} {path} answers but is not described"),
            }
        }
    }
    for (method, path) in SPEC_ENDPOINTS {
        assert!(
            described.iter().any(|(m, p)| m == method && p == path),
            "{method} {path} is not described"
        );
    }
    assert_eq!(described.len(), SPEC_ENDPOINTS.len(), "{described:?}");
    // A path under /api/v1 that is not described is not routed either.
    let res = client
        .get(app.url("/api/v1/undocumented"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    for schema in [
        "ErrorBody",
        "GrantBody",
        "SignInBody",
        "SessionBody",
        "DeviceSession",
    ] {
        assert!(
            doc["components"]["schemas"][schema].is_object(),
            "{schema} is not described"
        );
    }
}
