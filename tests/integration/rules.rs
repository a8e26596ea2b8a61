//! The rules the document states in words (corrections 17 and 18) and the `format`s it uses,
//! checked before a request is sent: by every call, by the record validator and by imports, each
//! refusal naming the field and the record, with nothing sent. The fake refuses the same requests
//! when they arrive (its own suite shows that).

use atlassian_csm::bulk::{CustomerProfiles, RecordValidator};
use atlassian_csm::types::{
    self, BulkCustomerAccountOperationRequest as Account,
    BulkManageCustomerProfileOperation as Profile,
    BulkManageOrganizationProfileOperation as OrganizationProfile,
};
use atlassian_csm::Error;
use atlassian_csm_mock::FakeCsm;

fn invalid(error: &Error) -> (String, &str) {
    match error {
        Error::InvalidInput { field, message } => (field.to_string(), message),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}

fn profile(record: types::builder::BulkManageCustomerProfileOperationBuilder) -> Profile {
    record.try_into().unwrap()
}

/// Built with the typed builders, as a user writes them: each breaks one rule.
fn bad_profiles() -> Vec<(Profile, &'static str, &'static str)> {
    vec![
        (
            profile(Profile::upsert().display_name("No one")),
            "payload",
            "Either email or customerId is required",
        ),
        (
            profile(Profile::upsert().email("")),
            "payload.email",
            "an empty value is not an email address",
        ),
        (
            profile(Profile::upsert().email("ada@")),
            "payload.email",
            "\"ada@\" is not an email address",
        ),
        (
            profile(Profile::upsert().email("ada lovelace@example.com")),
            "payload.email",
            "is not an email address",
        ),
        (
            profile(Profile::create().customer_id("qm:1:2").display_name("Ada")),
            "payload.email",
            "To create a new customer, email must be provided.",
        ),
        (
            profile(Profile::update().email("ada@example.com")),
            "",
            "At least one of displayName, details, associateOrganizations, or associateProducts",
        ),
    ]
}

#[test]
fn the_validator_names_the_record_the_field_and_the_documents_sentence() {
    for (index, (record, field, reason)) in bad_profiles().into_iter().enumerate() {
        let error = RecordValidator::<CustomerProfiles>::new()
            .check(index, &record)
            .unwrap_err();
        let (got_field, message) = invalid(&error);
        let expected = if field.is_empty() {
            format!("customerProfiles[{index}]")
        } else {
            format!("customerProfiles[{index}].{field}")
        };
        assert_eq!(got_field, expected, "{message}");
        assert!(message.contains(reason), "{index}: {message}");
    }
    let fine = [
        profile(Profile::upsert().email("ada@example.com")),
        profile(Profile::update().customer_id("qm:1:2").display_name("Ada")),
        profile(Profile::create().email("\"ada l\"@example.com")),
    ];
    RecordValidator::<CustomerProfiles>::new()
        .check_all(&fine)
        .unwrap();
}

#[tokio::test]
async fn an_import_of_records_that_break_a_stated_rule_sends_nothing() {
    let fake = FakeCsm::start().await.unwrap();
    for (index, (record, field, _)) in bad_profiles().into_iter().enumerate() {
        let records = vec![
            profile(Profile::upsert().email("grace@example.com")),
            record,
        ];
        let error = fake
            .client()
            .import_customer_profiles(records)
            .await
            .unwrap_err();
        let named = invalid(&error).0;
        assert!(named.starts_with("customerProfiles[1]"), "{index}: {named}");
        assert!(named.ends_with(field), "{index}: {named}");
    }
    assert!(fake.requests().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn each_call_checks_formats_and_stated_rules_before_sending() {
    let fake = FakeCsm::start().await.unwrap();
    let client = fake.client();

    let error = client
        .create_customer()
        .body(types::CustomerCreateRequest::builder().email("not-an-address"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(invalid(&error).0, "email");

    let error = client
        .bulk_create_customer_accounts()
        .body(
            types::BulkCustomerAccountRequest::builder().customer_accounts(vec![
                Account::try_from(Account::create().email("ada@example.com")).unwrap(),
                Account::try_from(Account::create().display_name("No email")).unwrap(),
            ]),
        )
        .send()
        .await
        .unwrap_err();
    let (field, message) = invalid(&error);
    assert_eq!(field, "customerAccounts[1].payload.email");
    assert_eq!(message, "Email must be provided for create operations.");

    let error = client
        .get_multiple_organizations()
        .body(types::FetchOrganizationRequest::builder())
        .send()
        .await
        .unwrap_err();
    assert!(
        invalid(&error)
            .1
            .contains("organizationIds or organizationNames"),
        "{error}"
    );

    let error = client
        .bulk_manage_organization_profiles()
        .body(
            types::BulkManageOrganizationProfilesRequest::builder().organization_profiles(vec![
                OrganizationProfile::try_from(OrganizationProfile::create().id("7")).unwrap(),
            ]),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(invalid(&error).0, "organizationProfiles[0].payload.name");

    let error = client
        .create_request_from_external_intake()
        .body(
            types::ExternalFormIntakeRequest::builder()
                .help_center_id("hc-1")
                .origin("phone")
                .summary("Locked out")
                .reporter_email("reporter at example.com"),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(invalid(&error).0, "reporterEmail");

    assert!(fake.requests().is_empty(), "nothing was sent");
}
