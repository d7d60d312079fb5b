//! Write the documented ML-platform scenario (docs/scan.md, "The ML-platform scenario"): a
//! normal month of a Kubeflow dev cluster's audit log, SageMaker (CloudTrail) and Vertex AI
//! (GCP audit) control-plane events and W&B audit logs, plus one attack chain on day 25 —
//! deterministic from the seed.
//!
//!   cargo run --example ml_platform_scenario -- OUT_DIR [SEED] [--normal]
//!
//! OUT_DIR gets `mlguard.toml` (the environments and identities) and `logs/`; then
//!   mlguard scan OUT_DIR/logs --config OUT_DIR/mlguard.toml --baseline-days 7
//! `--normal` writes the same month without the attack.
#![allow(dead_code)]

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc, Weekday};
use mlguard_testgen::{scenario, Rng};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const DAYS: u32 = 30;
pub const ATTACK_DAY: u32 = 25;
pub const PROD_ACCOUNT: &str = "444455556666";
pub const DEV_PROJECT: &str = "acme-ml-dev";
pub const PROD_PROJECT: &str = "acme-ml-prod";
pub const ATTACKER_IP: &str = "203.0.113.77";
pub const ALICE: &str = "alice@acme.io";
pub const SYNC_USER: &str = "arn:aws:iam::444455556666:user/training-sync";
pub const SYNC_KEY: &str = "AKIA4TRAININGSYNC001";
/// Training shards the attacker reads in prod, W&B artifacts it pulls.
pub const STOLEN_SHARDS: u32 = 400;
pub const STOLEN_ARTIFACTS: u32 = 40;

/// The config the scenario is scanned with.
pub const CONFIG: &str = r#"# The ML-platform scenario's environments and identities (examples/ml_platform_scenario.rs).
[scan]
approvers = ["carol@acme.io"]   # releases models to the prod endpoint (Vertex DeployModel)

[environments.dev]
gcp_projects = ["acme-ml-dev"]
paths = ["*/k8s-audit/kubeflow-dev/*"]   # raw API-server audit logs name no cluster

[environments.prod]
aws_accounts = ["444455556666"]
gcp_projects = ["acme-ml-prod"]

# The W&B entity is shared by dev and prod work: in no environment.

[identities.alice]
k8s_users = ["alice@acme.io"]
gcp_emails = ["alice@acme.io"]
wandb_emails = ["alice@acme.io"]
"#;

#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    /// Write the attack chain on [`ATTACK_DAY`].
    pub attack: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: 12,
            attack: true,
        }
    }
}

/// What was written: files and events per source.
#[derive(Debug, Default)]
pub struct Written {
    pub files: Vec<PathBuf>,
    pub k8s: usize,
    pub cloudtrail: usize,
    pub gcp: usize,
    pub wandb: usize,
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

fn uuid(rng: &mut Rng) -> String {
    let a = rng.next_u64();
    let b = rng.next_u64();
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

// ---------------------------------------------------------------------------------------
// Kubernetes audit events (the dev cluster's API server log backend, JSON Lines)

struct K8s<'a> {
    user: &'a str,
    groups: &'a [&'a str],
    ip: &'a str,
    ua: &'a str,
}

#[allow(clippy::too_many_arguments)]
fn k8s_event(
    rng: &mut Rng,
    who: &K8s,
    t: DateTime<Utc>,
    verb: &str,
    object: Value,
    uri: String,
    stage: &str,
    code: u16,
) -> Value {
    json!({
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": uuid(rng),
        "stage": stage,
        "requestURI": uri,
        "verb": verb,
        "user": {"username": who.user, "groups": who.groups},
        "sourceIPs": [who.ip],
        "userAgent": who.ua,
        "objectRef": object,
        "responseStatus": {"metadata": {}, "code": code},
        "requestReceivedTimestamp": ts(t),
        "stageTimestamp": ts(t + Duration::milliseconds(40)),
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""},
    })
}

fn obj(resource: &str, ns: &str, name: Option<&str>, group: Option<&str>) -> Value {
    let mut o = json!({"resource": resource, "namespace": ns, "apiVersion": "v1"});
    if let Some(n) = name {
        o["name"] = n.into();
    }
    if let Some(g) = group {
        o["apiGroup"] = g.into();
    }
    o
}

// ---------------------------------------------------------------------------------------
// CloudTrail (prod account: SageMaker control plane, S3 data events)

#[allow(clippy::too_many_arguments)]
fn ct(
    rng: &mut Rng,
    t: DateTime<Utc>,
    identity: Value,
    source: &str,
    name: &str,
    params: Value,
    ip: &str,
    ua: &str,
    bytes: Option<u64>,
) -> Value {
    let id = uuid(rng);
    scenario::cloudtrail_record(
        id,
        t,
        identity,
        PROD_ACCOUNT,
        source,
        name,
        params,
        ip,
        ua,
        bytes,
    )
}

fn role(name: &str, session: &str) -> Value {
    json!({
        "type": "AssumedRole",
        "arn": format!("arn:aws:sts::{PROD_ACCOUNT}:assumed-role/{name}/{session}"),
        "accountId": PROD_ACCOUNT,
        "principalId": format!("AROA{}:{session}", name.to_uppercase()),
        "sessionContext": {"sessionIssuer": {"type": "Role",
            "arn": format!("arn:aws:iam::{PROD_ACCOUNT}:role/{name}"), "userName": name}},
    })
}

fn sync_user() -> Value {
    json!({"type": "IAMUser", "arn": SYNC_USER, "accountId": PROD_ACCOUNT,
        "principalId": "AIDATRAININGSYNC", "userName": "training-sync", "accessKeyId": SYNC_KEY})
}

fn get(bucket: &str, key: &str) -> Value {
    json!({"bucketName": bucket, "key": key, "Host": format!("{bucket}.s3.us-east-1.amazonaws.com")})
}

// ---------------------------------------------------------------------------------------
// GCP audit (Vertex AI)

fn vertex(
    rng: &mut Rng,
    t: DateTime<Utc>,
    project: &str,
    who: &str,
    ip: &str,
    method: &str,
    resource: String,
) -> Value {
    json!({
        "protoPayload": {
            "@type": "type.googleapis.com/google.cloud.audit.AuditLog",
            "status": {},
            "authenticationInfo": {"principalEmail": who},
            "requestMetadata": {"callerIp": ip, "callerSuppliedUserAgent": "google-cloud-aiplatform/1.70.0 gl-python/3.11"},
            "serviceName": "aiplatform.googleapis.com",
            "methodName": format!("google.cloud.aiplatform.v1.{method}"),
            "resourceName": resource,
        },
        "insertId": format!("{:x}", rng.next_u64()),
        "resource": {"type": "audited_resource", "labels": {"project_id": project,
            "location": "us-central1", "service": "aiplatform.googleapis.com",
            "method": format!("google.cloud.aiplatform.v1.{method}")}},
        "timestamp": ts(t),
        "severity": "NOTICE",
        "logName": format!("projects/{project}/logs/cloudaudit.googleapis.com%2Factivity"),
    })
}

// ---------------------------------------------------------------------------------------
// W&B audit logs (bucket-synced NDJSON, docs/ "audit logging")

fn wandb(
    t: DateTime<Utc>,
    action: &str,
    email: &str,
    ip: &str,
    project: &str,
    artifact: Option<String>,
) -> Value {
    let mut e = json!({
        "timestamp": t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "action": action,
        "actor_user_id": format!("VXNlcjo{}", email.split('@').next().unwrap_or("x")),
        "actor_email": email,
        "actor_ip": ip,
        "response_code": 200,
        "cli_version": "0.18.3",
        "entity_name": "acme",
        "entity_asset": "RW50aXR5OjE=",
        "project_name": project,
        "project_asset": format!("UHJvamVjdDo{project}"),
    });
    if let Some(a) = artifact {
        e["artifact_qualified_name"] = a.into();
        e["artifact_asset"] = "QXJ0aWZhY3Q6MQ==".into();
        e["artifact_digest"] = "3b5d5c3712955042212316173ccf37be".into();
    }
    e
}

fn write_lines(path: &Path, recs: &[Value]) -> std::io::Result<()> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d)?;
    }
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    for r in recs {
        serde_json::to_writer(&mut f, r)?;
        f.write_all(b"\n")?;
    }
    f.flush()
}

fn sort_by(recs: &mut [Value], key: &str) {
    recs.sort_by(|a, b| {
        a.pointer(key)
            .and_then(Value::as_str)
            .cmp(&b.pointer(key).and_then(Value::as_str))
    });
}

/// Write the scenario: `dir/mlguard.toml` and `dir/logs/...` (created if needed).
pub fn write(dir: &Path, o: &Options) -> std::io::Result<Written> {
    let mut rng = Rng::new(o.seed);
    let mut w = Written::default();
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("mlguard.toml"), CONFIG)?;
    let logs = dir.join("logs");
    let start = Utc
        .with_ymd_and_hms(2026, 10, 1, 0, 0, 0)
        .single()
        .expect("valid date");
    let alice = K8s {
        user: ALICE,
        groups: &["oidc:ml-team", "system:authenticated"],
        ip: "198.51.100.10",
        ua: "kubectl/v1.30.2 (linux/amd64) kubernetes/3f7a50f",
    };
    let bob = K8s {
        user: "bob@acme.io",
        groups: &["oidc:ml-team", "system:authenticated"],
        ip: "198.51.100.20",
        ua: "kubectl/v1.30.2 (darwin/arm64) kubernetes/3f7a50f",
    };
    let runner = K8s {
        user: "system:serviceaccount:kubeflow:pipeline-runner",
        groups: &[
            "system:serviceaccounts",
            "system:serviceaccounts:kubeflow",
            "system:authenticated",
        ],
        ip: "10.0.0.12",
        ua: "argo-workflows/v3.4.17",
    };
    let nbctl = K8s {
        user: "system:serviceaccount:kubeflow:notebook-controller-service-account",
        groups: &[
            "system:serviceaccounts",
            "system:serviceaccounts:kubeflow",
            "system:authenticated",
        ],
        ip: "10.0.0.9",
        ua: "manager/v0.0.0 (linux/amd64) kubernetes/$Format",
    };
    let boto = "Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux";
    let sm_ua = "aws-sdk-java/2.25.0 Linux/5.10 sagemaker-pipelines";
    for day in 1..=DAYS {
        let d0 = start + Duration::days(day as i64 - 1);
        let date = format!("{:04}-{:02}-{:02}", d0.year(), d0.month(), d0.day());
        let workday = !matches!(d0.weekday(), Weekday::Sat | Weekday::Sun);
        let at = |rng: &mut Rng, h0: i64, h1: i64| {
            d0 + Duration::seconds(h0 * 3600 + (rng.f64() * ((h1 - h0) * 3600) as f64) as i64)
        };
        let (mut kube, mut trail, mut gcp, mut wb) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());

        // -- Kubeflow dev cluster --------------------------------------------------------
        // The pipeline runner reads the artifact-store credentials for each nightly run,
        // and creates the run's pods.
        for run in 0..2 {
            let t = at(&mut rng, 1 + run, 2 + run);
            kube.push(k8s_event(
                &mut rng,
                &runner,
                t,
                "get",
                obj(
                    "secrets",
                    "kubeflow",
                    Some("mlpipeline-minio-artifact"),
                    None,
                ),
                "/api/v1/namespaces/kubeflow/secrets/mlpipeline-minio-artifact".into(),
                "ResponseComplete",
                200,
            ));
            kube.push(k8s_event(
                &mut rng,
                &runner,
                t + Duration::seconds(5),
                "create",
                obj("pods", "kubeflow", None, None),
                "/api/v1/namespaces/kubeflow/pods".into(),
                "ResponseComplete",
                201,
            ));
        }
        if workday {
            for (who, ns) in [(&alice, "kubeflow-user-alice"), (&bob, "kubeflow-user-bob")] {
                for _ in 0..(3 + rng.below(6)) {
                    let t = at(&mut rng, 9, 18);
                    kube.push(k8s_event(
                        &mut rng,
                        who,
                        t,
                        "list",
                        obj("pods", ns, None, None),
                        format!("/api/v1/namespaces/{ns}/pods?limit=500"),
                        "ResponseComplete",
                        200,
                    ));
                }
                for _ in 0..(1 + rng.below(3)) {
                    let t = at(&mut rng, 9, 18);
                    let pod = format!("{}-nb-0", &ns["kubeflow-user-".len()..]);
                    kube.push(k8s_event(
                        &mut rng,
                        who,
                        t,
                        "get",
                        obj("pods", ns, Some(&pod), None),
                        format!("/api/v1/namespaces/{ns}/pods/{pod}/log?container=notebook"),
                        "ResponseComplete",
                        200,
                    ));
                }
                // A PyTorchJob (Kubeflow training operator) most working days.
                if rng.below(4) > 0 {
                    let t = at(&mut rng, 10, 17);
                    kube.push(k8s_event(
                        &mut rng,
                        who,
                        t,
                        "create",
                        obj("pytorchjobs", ns, None, Some("kubeflow.org")),
                        format!("/apis/kubeflow.org/v1/namespaces/{ns}/pytorchjobs"),
                        "ResponseComplete",
                        201,
                    ));
                    let name = format!("train-{:x}", rng.next_u64() & 0xffff);
                    kube.push(k8s_event(
                        &mut rng,
                        &nbctl,
                        t + Duration::seconds(3),
                        "create",
                        obj("pods", ns, None, None),
                        format!("/api/v1/namespaces/{ns}/pods?job={name}"),
                        "ResponseComplete",
                        201,
                    ));
                }
            }
        }

        // -- SageMaker in the prod account -----------------------------------------------
        let t = at(&mut rng, 2, 3);
        let job = format!("fraud-train-{date}");
        trail.push(ct(&mut rng, t, role("sagemaker-pipeline", "nightly"), "sagemaker.amazonaws.com",
            "CreateTrainingJob",
            json!({"trainingJobName": job,
                "roleArn": format!("arn:aws:iam::{PROD_ACCOUNT}:role/SageMakerExecution"),
                "algorithmSpecification": {"trainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.3.0-gpu-py311", "trainingInputMode": "FastFile"},
                "outputDataConfig": {"s3OutputPath": "s3://acme-ml-models-prod/fraud/"},
                "resourceConfig": {"instanceType": "ml.g5.2xlarge", "instanceCount": 1, "volumeSizeInGB": 100}}),
            "10.20.0.5", sm_ua, None));
        for k in 0..3 {
            trail.push(ct(
                &mut rng,
                t + Duration::minutes(10 * (k + 1)),
                role("sagemaker-pipeline", "nightly"),
                "sagemaker.amazonaws.com",
                "DescribeTrainingJob",
                json!({"trainingJobName": job}),
                "10.20.0.5",
                sm_ua,
                None,
            ));
        }
        for _ in 0..(30 + rng.below(21)) {
            let t2 = t + Duration::seconds(120 + rng.below(3000) as i64);
            let key = format!("train/part-{:05}.parquet", rng.below(2000));
            let bytes = 40 * 1048576 + rng.below(20 * 1048576) as u64;
            trail.push(ct(
                &mut rng,
                t2,
                role("SageMakerExecution", "SageMaker"),
                "s3.amazonaws.com",
                "GetObject",
                get("acme-train-data-prod", &key),
                "10.20.0.7",
                boto,
                Some(bytes),
            ));
        }
        // The on-prem sync agent checks a few new shards nightly (private link).
        for _ in 0..(5 + rng.below(6)) {
            let t2 = at(&mut rng, 3, 4);
            let key = format!("train/part-{:05}.parquet", rng.below(2000));
            trail.push(ct(
                &mut rng,
                t2,
                sync_user(),
                "s3.amazonaws.com",
                "GetObject",
                get("acme-train-data-prod", &key),
                "10.30.0.9",
                boto,
                Some(20 * 1048576),
            ));
        }

        // -- Vertex AI --------------------------------------------------------------------
        let sa = format!("vertex-pipelines@{PROD_PROJECT}.iam.gserviceaccount.com");
        let t = at(&mut rng, 4, 5);
        gcp.push(vertex(
            &mut rng,
            t,
            PROD_PROJECT,
            &sa,
            "10.128.0.4",
            "PipelineService.CreatePipelineJob",
            format!("projects/{PROD_PROJECT}/locations/us-central1/pipelineJobs/fraud-{date}"),
        ));
        if workday {
            for _ in 0..(1 + rng.below(2)) {
                let t = at(&mut rng, 10, 17);
                let id = rng.next_u64() % 100000;
                gcp.push(vertex(
                    &mut rng,
                    t,
                    DEV_PROJECT,
                    ALICE,
                    "198.51.100.10",
                    "JobService.CreateCustomJob",
                    format!("projects/{DEV_PROJECT}/locations/us-central1/customJobs/{id}"),
                ));
            }
        }
        if d0.weekday() == Weekday::Mon {
            let t = at(&mut rng, 11, 12);
            gcp.push(vertex(
                &mut rng,
                t,
                PROD_PROJECT,
                "carol@acme.io",
                "198.51.100.30",
                "EndpointService.DeployModel",
                format!("projects/{PROD_PROJECT}/locations/us-central1/endpoints/fraud-scoring"),
            ));
        }

        // -- W&B --------------------------------------------------------------------------
        if workday {
            let version = 1 + (day - 1) / 7;
            for (who, ip) in [(ALICE, "198.51.100.10"), ("bob@acme.io", "198.51.100.20")] {
                let t = at(&mut rng, 9, 10);
                wb.push(wandb(t, "user:login", who, ip, "fraud", None));
                for _ in 0..(2 + rng.below(4)) {
                    let t = at(&mut rng, 10, 18);
                    let a = if rng.below(2) == 0 {
                        format!("acme/fraud/fraud-model:v{version}")
                    } else {
                        format!("acme/fraud/train-set:v{}", rng.below(5))
                    };
                    wb.push(wandb(t, "artifact:read", who, ip, "fraud", Some(a)));
                }
                for _ in 0..(1 + rng.below(3)) {
                    let t = at(&mut rng, 10, 18);
                    wb.push(wandb(t, "run:update", who, ip, "fraud", None));
                }
            }
            if d0.weekday() == Weekday::Mon {
                let t = at(&mut rng, 10, 11);
                wb.push(wandb(
                    t,
                    "artifact:create",
                    "ci-bot@acme.io",
                    "198.51.100.40",
                    "fraud",
                    Some(format!("acme/fraud/fraud-model:v{version}")),
                ));
            }
        }

        // -- The attack chain ----------------------------------------------------------------
        if o.attack && day == ATTACK_DAY {
            let thief = K8s {
                ip: ATTACKER_IP,
                ..alice
            };
            let t = d0 + Duration::seconds(3600 + 130);
            let exec = "/api/v1/namespaces/kubeflow-user-alice/pods/alice-nb-0/exec?command=bash&container=notebook&stdin=true&stdout=true&tty=true";
            let pod = obj("pods", "kubeflow-user-alice", Some("alice-nb-0"), None);
            let mut x = pod.clone();
            x["subresource"] = "exec".into();
            // Every stage of the exec is logged; it is one request.
            kube.push(k8s_event(
                &mut rng,
                &thief,
                t,
                "create",
                x.clone(),
                exec.into(),
                "RequestReceived",
                0,
            ));
            let mut started = k8s_event(
                &mut rng,
                &thief,
                t,
                "create",
                x.clone(),
                exec.into(),
                "ResponseStarted",
                101,
            );
            started["auditID"] = kube
                .last()
                .map(|e| e["auditID"].clone())
                .unwrap_or_default();
            kube.push(started);
            let t = t + Duration::minutes(3);
            kube.push(k8s_event(
                &mut rng,
                &thief,
                t,
                "list",
                obj("secrets", "kubeflow-user-alice", None, None),
                "/api/v1/namespaces/kubeflow-user-alice/secrets".into(),
                "ResponseComplete",
                200,
            ));
            kube.push(k8s_event(
                &mut rng,
                &thief,
                t + Duration::seconds(40),
                "get",
                obj(
                    "secrets",
                    "ml-pipelines",
                    Some("aws-prod-training-creds"),
                    None,
                ),
                "/api/v1/namespaces/ml-pipelines/secrets/aws-prod-training-creds".into(),
                "ResponseComplete",
                200,
            ));
            // The stolen prod key, from the same address.
            let t = d0 + Duration::minutes(75);
            trail.push(ct(
                &mut rng,
                t,
                sync_user(),
                "sts.amazonaws.com",
                "GetCallerIdentity",
                json!({}),
                ATTACKER_IP,
                "aws-cli/2.15.0 md/awscrt#0.19.19 ua/2.0 os/linux",
                None,
            ));
            for i in 0..STOLEN_SHARDS {
                let t2 = d0
                    + Duration::minutes(78)
                    + Duration::seconds((i as i64 * 1800) / STOLEN_SHARDS as i64);
                let key = format!("train/part-{i:05}.parquet");
                let bytes = 20 * 1048576 + rng.below(1048576) as u64;
                trail.push(ct(
                    &mut rng,
                    t2,
                    sync_user(),
                    "s3.amazonaws.com",
                    "GetObject",
                    get("acme-train-data-prod", &key),
                    ATTACKER_IP,
                    "rclone/v1.66.0",
                    Some(bytes),
                ));
            }
            // Alice's W&B API key (from the notebook's environment): every model version.
            for v in 1..=STOLEN_ARTIFACTS {
                let t2 = d0 + Duration::minutes(112) + Duration::seconds(v as i64 * 9);
                wb.push(wandb(
                    t2,
                    "artifact:read",
                    ALICE,
                    ATTACKER_IP,
                    "fraud",
                    Some(format!("acme/fraud/fraud-model:v{v}")),
                ));
            }
        }

        sort_by(&mut kube, "/stageTimestamp");
        sort_by(&mut trail, "/eventTime");
        sort_by(&mut gcp, "/timestamp");
        sort_by(&mut wb, "/timestamp");
        let f = logs.join(format!("k8s-audit/kubeflow-dev/audit-{date}.jsonl"));
        write_lines(&f, &kube)?;
        w.files.push(f);
        w.k8s += kube.len();
        let f = scenario::write_cloudtrail_day(
            &logs.join("cloudtrail"),
            PROD_ACCOUNT,
            d0,
            &trail,
            &mut rng,
        )?;
        w.files.push(f);
        w.cloudtrail += trail.len();
        let f = logs.join(format!("gcp/vertex-activity-{date}.jsonl"));
        write_lines(&f, &gcp)?;
        w.files.push(f);
        w.gcp += gcp.len();
        if !wb.is_empty() {
            let f = logs.join(format!("wandb/audit_logs/{date}.ndjson"));
            write_lines(&f, &wb)?;
            w.files.push(f);
            w.wandb += wb.len();
        }
    }
    Ok(w)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: ml_platform_scenario OUT_DIR [SEED] [--normal]");
        std::process::exit(2);
    };
    let mut o = Options::default();
    if let Some(s) = args.iter().filter(|a| !a.starts_with("--")).nth(1) {
        match s.parse() {
            Ok(s) => o.seed = s,
            Err(_) => {
                eprintln!("ml_platform_scenario: SEED '{s}' is not a number");
                std::process::exit(2);
            }
        }
    }
    o.attack = !args.iter().any(|a| a == "--normal");
    match write(Path::new(dir), &o) {
        Ok(w) => println!(
            "{} files in {dir}/logs: {} Kubernetes audit, {} CloudTrail, {} GCP audit, {} W&B events{}\n\
             scan: mlguard scan {dir}/logs --config {dir}/mlguard.toml --baseline-days 7",
            w.files.len(), w.k8s, w.cloudtrail, w.gcp, w.wandb,
            if o.attack { "; attack chain on day 25 from 203.0.113.77" } else { " (normal month)" }
        ),
        Err(e) => {
            eprintln!("ml_platform_scenario: {dir}: {e}");
            std::process::exit(2);
        }
    }
}
