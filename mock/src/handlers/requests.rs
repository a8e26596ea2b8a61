//! Requests raised through the external intake, and their comments.

use crate::call::Call;
use crate::reply::{error, Reply};
use crate::state::{self, State};
use serde_json::json;

/// Answers the help-center request operations; `None` for any other operation.
pub(super) fn handle(state: &mut State, call: &Call<'_>) -> Option<Reply> {
    Some(match call.operation {
        "create-request-from-external-intake" => create_request(state, call),
        "add-request-comment" => add_comment(state, call),
        _ => return None,
    })
}

/// Raises a CSM request; answered 201 (the API states only "a 2xx").
fn create_request(state: &mut State, call: &Call<'_>) -> Reply {
    let help_center_id = call.text("helpCenterId").unwrap_or_default();
    let key = format!("CSM-{}", state.requests.len() + 1);
    let request = state::CsmRequest {
        id: uuid::Uuid::new_v4().to_string(),
        key: key.clone(),
        help_center_id: help_center_id.clone(),
        origin: call.text("origin").unwrap_or_default(),
        summary: call.text("summary").unwrap_or_default(),
        reporter_email: call.text("reporterEmail"),
        metadata: call.body["metadata"].clone(),
        comments: Vec::new(),
    };
    let answer = json!({
        "id": request.id, "key": key, "helpCenterId": help_center_id,
        "link": format!("https://fake-csm.example/servicedesk/customer/portal/1/{key}"),
    });
    state.requests.push(request);
    (201, answer)
}

/// Comments on a request of the help center, found by id or key.
fn add_comment(state: &mut State, call: &Call<'_>) -> Reply {
    let help_center = call.param("helpCenterId");
    let issue = call.param("issueIdOrKey");
    let Some(request) = state
        .requests
        .iter_mut()
        .find(|r| r.help_center_id == help_center && (r.id == issue || r.key == issue))
    else {
        return error(
            404,
            format!("Issue {issue} does not exist in help center {help_center}"),
        );
    };
    let comment = state::Comment {
        id: uuid::Uuid::new_v4().to_string(),
        body: call.body["body"].clone(),
        public: call.body["public"].as_bool().unwrap_or(false),
    };
    let answer = json!({"id": comment.id});
    request.comments.push(comment);
    (201, answer)
}
