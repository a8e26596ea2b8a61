use crate::support::mock_api::Expected;
use crate::{contract, TASK_ID};

contract!(
    get_task_status,
    Expected::get(&format!("/api/v1/tasks/{TASK_ID}")).experimental(),
    |client| client.get_task_status().task_id(TASK_ID).send()
);
