//! The one table of built-in rule ids: default severity, ATT&CK / ATLAS tags and a one-line
//! description. Families build findings through `Cx::finding`, which takes the tags from
//! here; a unit test checks this table against the rule table in docs/scan.md.

use crate::finding::Severity;
use std::collections::BTreeMap;

pub struct Rule {
    pub id: &'static str,
    /// Before any escalation or reduction a family applies (documented per rule).
    pub severity: Severity,
    pub tags: &'static [&'static str],
    pub description: &'static str,
}

const fn r(
    id: &'static str,
    severity: Severity,
    tags: &'static [&'static str],
    description: &'static str,
) -> Rule {
    Rule {
        id,
        severity,
        tags,
        description,
    }
}

use Severity::{Critical, High, Low, Medium};

pub static RULES: &[Rule] = &[
    r(
        "scan.new_principal_on_asset",
        High,
        &["atlas:AML.T0035", "attack:T1530"],
        "after the baseline, a principal's first access to an ML asset location",
    ),
    r(
        "scan.bulk_download",
        High,
        &["atlas:AML.T0025", "atlas:AML.T0035", "attack:T1530"],
        "object reads in one principal-hour far above its own history or absolute thresholds",
    ),
    r(
        "scan.new_source_ip",
        Medium,
        &["attack:T1078.004"],
        "a known principal uses ML assets from a new source IP",
    ),
    r(
        "scan.new_user_agent",
        Low,
        &["attack:T1078.004"],
        "a known principal uses ML assets with a new user agent",
    ),
    r(
        "scan.off_hours_access",
        Medium,
        &["attack:T1078.004"],
        "ML-asset events outside the configured working hours",
    ),
    r(
        "scan.public_or_external_access",
        Critical,
        &["attack:T1537", "attack:T1530", "atlas:AML.T0025"],
        "a resource made public or shared with an external account",
    ),
    r(
        "scan.logging_disabled",
        High,
        &["attack:T1562.008"],
        "audit logging stopped, deleted or reconfigured (failed attempts one step lower, described by their error)",
    ),
    r(
        "scan.versioning_disabled",
        High,
        &["attack:T1490", "atlas:AML.T0031"],
        "bucket versioning suspended",
    ),
    r(
        "scan.mass_deletion",
        High,
        &["attack:T1485", "atlas:AML.T0031"],
        "many objects deleted by one principal in one hour",
    ),
    r(
        "scan.registry_unapproved_promotion",
        High,
        &["atlas:AML.T0058", "attack:T1078.004"],
        "a model promoted or approved by an identity outside the approvers",
    ),
    r(
        "scan.registry_approval",
        Low,
        &["atlas:AML.T0058"],
        "a model package approved while no approvers are configured",
    ),
    r(
        "scan.registry_promotion_without_run",
        High,
        &["atlas:AML.T0058", "atlas:AML.T0018"],
        "a promoted model version with no linked run",
    ),
    r(
        "scan.registry_version_source_changed",
        High,
        &["atlas:AML.T0018", "atlas:AML.T0058"],
        "the same model version with a different run or source between exports",
    ),
    r(
        "scan.model_export",
        Medium,
        &["atlas:AML.T0044", "atlas:AML.T0025", "attack:T1530"],
        "a model exported or its download URI requested",
    ),
    r(
        "scan.llm_model_enumeration",
        Medium,
        &["atlas:AML.T0014", "attack:T1526"],
        "foundation models enumerated across regions or in bursts",
    ),
    r(
        "scan.llm_entitlement_then_invoke",
        High,
        &["atlas:AML.T0034", "attack:T1496"],
        "model access entitlement followed by a first invocation (LLMjacking)",
    ),
    r(
        "scan.llm_invoke_failures",
        Medium,
        &["atlas:AML.T0034", "atlas:AML.T0054"],
        "a burst of failed model invocations by one principal",
    ),
    r(
        "scan.k8s_privileged_pod",
        High,
        &["attack:T1611", "attack:T1610"],
        "a Kubernetes workload (any container, Kubeflow replicas too) created privileged, with escape capabilities, host namespaces or hostPath volumes",
    ),
    r(
        "scan.k8s_exec_into_pod",
        High,
        &["attack:T1609"],
        "kubectl exec / attach / port-forward into a Kubernetes pod",
    ),
    r(
        "scan.k8s_rbac_broad_grant",
        High,
        &["attack:T1098", "attack:T1078.001"],
        "a Kubernetes Role / ClusterRole granting wildcards, pods/exec|attach|portforward or escalate / bind / impersonate",
    ),
    r(
        "scan.k8s_cluster_admin_binding",
        High,
        &["attack:T1098", "attack:T1078.001"],
        "a RoleBinding / ClusterRoleBinding to the cluster-admin ClusterRole",
    ),
    r(
        "scan.k8s_anonymous_access",
        High,
        &["attack:T1078.001", "attack:T1190"],
        "a Kubernetes API request by the anonymous user or unauthenticated group that succeeded",
    ),
    r(
        "scan.k8s_secret_read_by_new_principal",
        Medium,
        &["attack:T1552.007", "atlas:AML.T0055"],
        "after the baseline, a principal's first Kubernetes secret get / list (service-account tokens excluded)",
    ),
    r(
        "scan.k8s_role_write_grant",
        Low,
        &["attack:T1098"],
        "a Kubernetes Role / ClusterRole created with write verbs (create, update, patch, delete)",
    ),
    r(
        "scan.k8s_system_role_changed",
        Medium,
        &["attack:T1098", "attack:T1562"],
        "a built-in Kubernetes role or binding (system:*, cluster-admin) modified or deleted",
    ),
    r(
        "scan.k8s_kube_system_object",
        Medium,
        &["attack:T1610", "attack:T1136", "attack:T1098"],
        "a pod with an unseen image, a service account or a secret created in kube-system / kube-public",
    ),
    r(
        "scan.k8s_configmap_credentials",
        Medium,
        &["attack:T1552.001", "atlas:AML.T0055"],
        "credentials (passwords, cloud keys, private keys) written into a Kubernetes ConfigMap",
    ),
    r(
        "scan.k8s_service_exposed",
        Low,
        &["attack:T1133"],
        "a Kubernetes Service of type NodePort or LoadBalancer created or changed",
    ),
    r(
        "scan.k8s_namespace_by_unknown_user",
        Low,
        &["attack:T1078.001"],
        "a Kubernetes namespace created by a user who is not a known cluster administrator",
    ),
    r(
        "scan.ml_job_by_new_principal",
        Medium,
        &["atlas:AML.T0011", "attack:T1610"],
        "after the baseline, a principal's first Vertex AI / Workbench / Kubeflow / Azure ML job or notebook",
    ),
    r(
        "scan.sagemaker_role_passed_by_new_principal",
        High,
        &["attack:T1098", "attack:T1648", "atlas:AML.T0011"],
        "after the baseline, a SageMaker job or notebook given an execution role its submitter never passed before",
    ),
    r(
        "scan.sagemaker_lifecycle_script",
        High,
        &["attack:T1059.004", "attack:T1552.005", "attack:T1496", "attack:T1098.004"],
        "a SageMaker lifecycle configuration whose script reaches the metadata service, opens a shell, mines or installs SSH keys",
    ),
    r(
        "scan.sagemaker_presigned_url_new_ip",
        Medium,
        &["attack:T1078.004", "atlas:AML.T0012"],
        "after the baseline, a presigned notebook / Studio URL requested from an IP new for the principal",
    ),
    r(
        "scan.sagemaker_output_other_account",
        High,
        &["attack:T1537", "atlas:AML.T0025"],
        "a SageMaker job whose S3 output path is a bucket of another (untrusted) account",
    ),
    r(
        "scan.vertex_model_upload",
        Medium,
        &["atlas:AML.T0018", "atlas:AML.T0058"],
        "a model uploaded to the Vertex AI model registry",
    ),
    r(
        "scan.vertex_endpoint_change",
        High,
        &["atlas:AML.T0058", "attack:T1078.004"],
        "a Vertex AI endpoint's models deployed / undeployed by an identity outside the approvers",
    ),
    r(
        "scan.vertex_startup_script_change",
        High,
        &["attack:T1059", "attack:T1037"],
        "a Workbench instance given a (post-)startup script",
    ),
    r(
        "scan.azureml_keys_listed",
        Medium,
        &["attack:T1552.001", "attack:T1555.006", "atlas:AML.T0055"],
        "Azure ML workspace / compute / endpoint keys or datastore / connection secrets listed",
    ),
    r(
        "scan.azureml_endpoint_change_by_new_identity",
        High,
        &["atlas:AML.T0058", "attack:T1078.004"],
        "after the baseline, an identity's first Azure ML online endpoint / deployment change",
    ),
    r(
        "scan.secrets_harvesting",
        High,
        &["attack:T1555.006", "attack:T1552", "atlas:AML.T0055"],
        "many distinct secrets (Secrets Manager, decrypted SSM parameters) read in one burst",
    ),
    r(
        "scan.iam_persistence",
        High,
        &["attack:T1136.003", "attack:T1098.001", "attack:T1098.003"],
        "users, access keys, console passwords, admin policies or trust policies created for persistence",
    ),
    r(
        "scan.lambda_backdoor",
        High,
        &["attack:T1648", "attack:T1546"],
        "a Lambda function opened to anyone or another account, or its code or configuration changed",
    ),
    r(
        "scan.log_deletion",
        High,
        &["attack:T1562.008", "attack:T1070"],
        "CloudWatch log groups or streams deleted",
    ),
    r(
        "scan.console_login_without_mfa",
        Medium,
        &["attack:T1078.004"],
        "an IAM user signed in to the console without MFA",
    ),
    r(
        "scan.root_credential_use",
        High,
        &["attack:T1078.004"],
        "the account's root credentials used",
    ),
    r(
        "scan.cross_environment_chain",
        High,
        &[
            "attack:T1078.004",
            "attack:T1550.001",
            "attack:T1552",
            "attack:T1530",
            "atlas:AML.T0055",
            "atlas:AML.T0025",
        ],
        "one source IP, access key or mapped identity touching ML assets or secrets in two or more environments (or reading secrets in two or more clouds) within the window",
    ),
    r(
        "scan.wandb_key_then_new_ip",
        High,
        &["attack:T1098.001", "attack:T1078.004", "atlas:AML.T0035"],
        "a W&B API key created, then artifacts read by the same actor from an IP it never used",
    ),
    r(
        "scan.wandb_deletion_burst",
        High,
        &["attack:T1485", "attack:T1070"],
        "a burst of W&B project / run / artifact deletions by one actor",
    ),
    r(
        "scan.wandb_member_change",
        Medium,
        &["attack:T1098", "attack:T1136.003"],
        "a W&B organisation / team member, role or service-account change",
    ),
];

pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// `| `scan.x` | severity text | ... | tags |` rows of a Markdown table: id → (severity
/// column, last column).
pub fn doc_rows(doc: &str) -> BTreeMap<String, (String, String)> {
    let mut out = BTreeMap::new();
    for line in doc.lines() {
        let cols: Vec<&str> = line.trim().split('|').map(str::trim).collect();
        if cols.len() < 5 {
            continue;
        }
        let Some(id) = cols[1]
            .strip_prefix('`')
            .and_then(|c| c.strip_suffix('`'))
            .filter(|c| c.starts_with("scan.") && !c.contains('*'))
        else {
            continue;
        };
        out.insert(
            id.to_string(),
            (cols[2].to_string(), cols[cols.len() - 2].to_string()),
        );
    }
    out
}
