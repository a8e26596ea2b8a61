//! Responses stay decodable when the server knows more than the spec: new enum values and new
//! fields.

use atlassian_csm::types::{
    DetailFieldTypeName, TaskFailureOperatedOn, TaskStatusResponse, TaskStatusResponseStatus,
};
use serde_json::json;

fn task_with(status: &str, operated_on: &str) -> serde_json::Value {
    json!({
        "id": "3858a61a-d337-42e6-993e-e13e1c366d4f",
        "type": "BULK_CUSTOMER_PROFILE_CREATE_UPDATE",
        "status": status,
        "failures": [{
            "entity": "CUSTOMER",
            "entityId": "bob@example.com",
            "operation": "UPSERT",
            "operatedOn": operated_on,
            "operatedOnIds": ["Region"],
            "error": "Invalid detail field"
        }],
        "createdAt": "2025-01-15T11:12:13Z",
        "updatedAt": "2025-01-15T11:12:13Z"
    })
}

#[test]
fn unknown_enum_values_decode_into_unknown() {
    let task: TaskStatusResponse =
        serde_json::from_value(task_with("PAUSED", "ASSOCIATE_TEAM")).expect("decodes");
    assert!(
        matches!(&task.status, TaskStatusResponseStatus::Unknown(v) if v.as_str() == "PAUSED"),
        "{:?}",
        task.status
    );
    assert!(matches!(
        &task.failures[0].operated_on,
        TaskFailureOperatedOn::Unknown(v) if v.as_str() == "ASSOCIATE_TEAM"
    ));
    let field_type: DetailFieldTypeName = serde_json::from_value(json!("CHECKBOX")).unwrap();
    assert_eq!(field_type, DetailFieldTypeName::from("CHECKBOX"));
    assert!(matches!(field_type, DetailFieldTypeName::Unknown(_)));
}

#[test]
fn unknown_never_holds_a_known_value() {
    // `From<&str>` is the only way to build an `Unknown` outside the crate, and it maps every
    // known wire string to its own variant, so matching on `Finished` is always right.
    for wire in [
        "NOT_STARTED",
        "IN_PROGRESS",
        "FAILED",
        "FINISHED",
        "CANCELLED",
    ] {
        let status = TaskStatusResponseStatus::from(wire);
        assert!(
            !matches!(status, TaskStatusResponseStatus::Unknown(_)),
            "{wire}"
        );
        let decoded: TaskStatusResponseStatus = serde_json::from_value(json!(wire)).unwrap();
        assert_eq!(decoded, status);
    }
}

#[test]
fn known_enum_values_still_decode_to_their_variants() {
    let task: TaskStatusResponse =
        serde_json::from_value(task_with("FINISHED", "DETAIL_FIELD")).expect("decodes");
    assert_eq!(task.status, TaskStatusResponseStatus::Finished);
    assert_eq!(
        task.failures[0].operated_on,
        TaskFailureOperatedOn::DetailField
    );
}

#[test]
fn open_enums_round_trip_through_strings() {
    for wire in ["NOT_STARTED", "SOMETHING_NEW"] {
        let status: TaskStatusResponseStatus = wire.parse().unwrap();
        assert_eq!(status.as_str(), wire);
        assert_eq!(status.to_string(), wire);
        assert_eq!(serde_json::to_value(&status).unwrap(), json!(wire));
    }
    assert_eq!(
        TaskStatusResponseStatus::from("NOT_STARTED"),
        TaskStatusResponseStatus::NotStarted
    );
}

#[test]
fn fields_the_spec_does_not_know_are_ignored() {
    let mut task = task_with("IN_PROGRESS", "CUSTOMER_ACCOUNT");
    task["progress"] = json!({"done": 10, "total": 100});
    task["name"] = json!("profile import");
    task["failures"][0]["retryable"] = json!(false);
    let decoded: TaskStatusResponse = serde_json::from_value(task).expect("decodes");
    assert_eq!(decoded.status, TaskStatusResponseStatus::InProgress);
}
