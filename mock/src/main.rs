//! `atlassian-csm-mock`: the fake CSM API as a server, for curl, Postman or another language.
//!
//! ```text
//! cargo run -p atlassian-csm-mock -- --port 8080 --seed-demo
//! curl -H 'Authorization: Bearer any' http://127.0.0.1:8080/api/v1/product
//! ```

use atlassian_csm_mock::FakeCsm;
use std::process::ExitCode;

const USAGE: &str =
    "usage: atlassian-csm-mock [--print-document] [--port PORT] [--seed-demo] [--task-ms MS]
                          [--submit-ms MS] [--task-limit TASKS] [--pace-live FACTOR]
                          [--rate-limits FACTOR] [--search-delay-ms MS]
                          [--failed-although-written EVERY]

Serves a fake of the Atlassian CSM REST API on 127.0.0.1 until interrupted (port 0: any free
port; the first line printed names it). Any Authorization header is accepted; experimental
operations need X-ExperimentalApi: opt-in and bulk operations an Idempotency-Key, as on a
real site.

  --print-document    print the corrected OpenAPI document the fake checks requests against
                      (for a property-based tester) and exit
  --task-ms MS        a bulk task ends MS ms after its request arrived (default 50)
  --submit-ms MS      bulk submits are answered after MS ms (default 0)
  --task-limit TASKS  unfinished tasks allowed at once (default 5)
  --pace-live FACTOR  tasks one at a time, 4.8 s a record and the 30-minute rule as a live
                      site has been seen to work, every time divided by FACTOR (1: real time)
  --rate-limits FACTOR  10 requests a second per operation and 100,100 points an hour, with
                      their headers, both windows divided by FACTOR
  --search-delay-ms MS  new customers are found by searches only MS ms after they were added
  --failed-although-written EVERY
                      every EVERYth bulk task ends FAILED with no failures, its records written";

#[tokio::main]
async fn main() -> ExitCode {
    let mut builder = FakeCsm::builder();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => match args.next().and_then(|p| p.parse().ok()) {
                Some(port) => builder = builder.port(port),
                None => {
                    eprintln!("--port needs a number\n\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--seed-demo" => builder = builder.seed_demo(true),
            "--print-document" => {
                println!("{}", atlassian_csm_mock::DOCUMENT.trim_end());
                return ExitCode::SUCCESS;
            }
            "--pace-live" => match args.next().and_then(|f| f.parse().ok()) {
                Some(factor) => {
                    builder = builder.pace(atlassian_csm_mock::Pace::live_scaled(factor))
                }
                None => {
                    eprintln!("--pace-live needs a whole number\n\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--rate-limits" => match args.next().and_then(|f| f.parse().ok()) {
                Some(factor) => {
                    builder =
                        builder.rate_limits(atlassian_csm_mock::RateLimits::live_scaled(factor))
                }
                None => {
                    eprintln!("--rate-limits needs a whole number\n\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            "--search-delay-ms" | "--failed-although-written" => {
                let Some(value) = args.next().and_then(|v| v.parse::<u64>().ok()) else {
                    eprintln!("{arg} needs a number\n\n{USAGE}");
                    return ExitCode::from(2);
                };
                builder = match arg.as_str() {
                    "--search-delay-ms" => {
                        builder.search_delay(std::time::Duration::from_millis(value))
                    }
                    _ => builder.failed_although_written(value),
                };
            }
            "--task-ms" | "--submit-ms" | "--task-limit" => {
                let Some(value) = args.next().and_then(|v| v.parse::<u64>().ok()) else {
                    eprintln!("{arg} needs a number\n\n{USAGE}");
                    return ExitCode::from(2);
                };
                let millis = std::time::Duration::from_millis(value);
                builder = match arg.as_str() {
                    "--task-ms" => builder.task_timing(std::time::Duration::ZERO, millis),
                    "--submit-ms" => builder.bulk_latency(millis),
                    _ => builder.task_limit(value as usize),
                };
            }
            "--help" | "-h" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("unknown argument {other}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let fake = match builder.start().await {
        Ok(fake) => fake,
        Err(error) => {
            eprintln!("cannot listen: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("fake CSM API at {}", fake.base_url());
    let _ = tokio::signal::ctrl_c().await;
    ExitCode::SUCCESS
}
