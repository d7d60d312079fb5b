//! Model exports and download URIs ([`Op::ModelExport`]: Vertex AI `ExportModel`, Bedrock
//! `CreateModelCopyJob`, `GetDownloadUri`).

use super::{Coverage, Cx, Detection, Stats};
use crate::finding::{Finding, Severity};
use crate::input::logs::{Event, Op};

pub struct Export;

impl Detection for Export {
    fn ids(&self) -> &'static [&'static str] {
        &["scan.model_export"]
    }

    fn record(&self, cx: &Cx, e: &Event, out: &mut Vec<Finding>) {
        if e.success && e.op == Op::ModelExport {
            out.push(cx.finding(
                "scan.model_export",
                Severity::Medium,
                e,
                format!("model export / download: {} on {}", e.action, e.resource),
            ));
        }
    }

    fn coverage(&self, input: &Stats, _cx: &Cx) -> Vec<Coverage> {
        vec![super::logging::control_plane("scan.model_export", input)]
    }
}
