use super::TASK_ID;
use crate::contract;
use crate::support::mock_api::Expected;

contract!(
    get_task_status,
    Expected::get(&format!("/api/v1/tasks/{TASK_ID}")).experimental(),
    |client| client.get_task_status().task_id(TASK_ID).send()
);
