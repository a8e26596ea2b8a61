//! CSM requests (corrections 14 and 15): operations of the API's newer operation list whose
//! schemas the document already held.

use super::{body, json};
use crate::contract;
use crate::support::mock_api::Expected;
use atlassian_csm::types;

/// A help center id as the API issues them.
const HELP_CENTER_ID: &str = "f17913e0-58f9-4be7-b6e6-a10ca70ccb55";

contract!(
    create_request_from_external_intake,
    Expected::post("/api/v1/request/form/external")
        .json(json("create_request_from_external_intake")),
    |client| client
        .create_request_from_external_intake()
        .body(body::<types::ExternalFormIntakeRequest>(
            "create_request_from_external_intake"
        ))
        .send()
);

contract!(
    add_request_comment,
    Expected::post(&format!(
        "/api/v1/request/form/helpcenter/{HELP_CENTER_ID}/issue/SD-123/comment"
    ))
    .json(json("add_request_comment")),
    |client| client
        .add_request_comment()
        .help_center_id(HELP_CENTER_ID)
        .issue_id_or_key("SD-123")
        .body(body::<types::IssueCommentRequest>("add_request_comment"))
        .send()
);
