//! UWS 1.1 documents (appendix B's schema): the job list, a job, its
//! results and its parameters. Corvus's own job information (queue,
//! progress, the result's rows) goes in `jobInfo` (any content, UWS 1.1
//! §2.2.2.2), as elements in no namespace: a namespace of our own would
//! have no schema for validators to load (taplint warns of it).

use std::fmt::Write;
use table_writers::xml_escape;
use uws_jobs::{Job, Millis, SummaryRef};

const NAMESPACES: &str = "xmlns:uws=\"http://www.ivoa.net/xml/UWS/v1.0\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"";
const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// `<uws:jobs>`: its head; then [`jobref`] for each job, then [`JOBS_END`].
pub(crate) fn jobs_head(capacity: usize) -> String {
    let mut s = String::with_capacity(capacity);
    s.push_str(HEAD);
    let _ = writeln!(s, "<uws:jobs version=\"1.1\" {NAMESPACES}>");
    s
}

/// The end of `<uws:jobs>`.
pub(crate) const JOBS_END: &str = "</uws:jobs>\n";

/// One `jobref` of the job list, linking to its job. With push_str, not
/// write!: a list of 10^5 jobs is rendered in one go.
pub(crate) fn jobref(s: &mut String, j: &SummaryRef<'_>, async_url: &str) {
    s.push_str("<uws:jobref id=\"");
    s.push_str(j.id);
    s.push_str("\" xlink:href=\"");
    s.push_str(async_url);
    s.push('/');
    s.push_str(j.id);
    s.push_str("\"><uws:phase>");
    s.push_str(j.phase.as_str());
    s.push_str("</uws:phase>");
    if let Some(r) = j.run_id {
        s.push_str("<uws:runId>");
        s.push_str(&xml_escape(r));
        s.push_str("</uws:runId>");
    }
    owner(s, j.owner);
    s.push_str("<uws:creationTime>");
    j.creation_time.write_iso(s);
    s.push_str("</uws:creationTime></uws:jobref>\n");
}

/// `ownerId`: nil for the anonymous owner (the element is required).
fn owner(s: &mut String, owner: Option<&str>) {
    match owner {
        Some(o) => {
            s.push_str("<uws:ownerId>");
            s.push_str(&xml_escape(o));
            s.push_str("</uws:ownerId>");
        }
        None => s.push_str("<uws:ownerId xsi:nil=\"true\"/>"),
    }
}

fn time(s: &mut String, element: &str, t: Option<Millis>) {
    match t {
        Some(t) => {
            let _ = write!(s, "<uws:{element}>{}</uws:{element}>", t.to_iso());
        }
        None => {
            let _ = write!(s, "<uws:{element} xsi:nil=\"true\"/>");
        }
    }
}

/// What the HTTP layer adds to a stored job: its URL and live progress.
pub(crate) struct JobView<'a> {
    pub(crate) job: &'a Job,
    /// `<base>/async/<id>`.
    pub(crate) url: String,
    /// Rows read and rows estimated, while it executes.
    pub(crate) progress: Option<(u64, u64)>,
}

/// `<uws:job>`, its elements in the schema's order.
pub(crate) fn job(v: &JobView<'_>) -> String {
    let j = v.job;
    let mut s = String::with_capacity(2048);
    s.push_str(HEAD);
    let _ = writeln!(s, "<uws:job version=\"1.1\" {NAMESPACES}>");
    let _ = writeln!(s, "<uws:jobId>{}</uws:jobId>", j.id);
    if let Some(r) = &j.run_id {
        let _ = writeln!(s, "<uws:runId>{}</uws:runId>", xml_escape(r));
    }
    owner(&mut s, j.owner.as_deref());
    let _ = writeln!(s, "\n<uws:phase>{}</uws:phase>", j.phase);
    time(&mut s, "quote", j.quote);
    let _ = writeln!(
        s,
        "\n<uws:creationTime>{}</uws:creationTime>",
        j.creation_time.to_iso()
    );
    time(&mut s, "startTime", j.start_time);
    time(&mut s, "endTime", j.end_time);
    let _ = writeln!(
        s,
        "\n<uws:executionDuration>{}</uws:executionDuration>",
        j.execution_seconds.min(i32::MAX as u64)
    );
    time(&mut s, "destruction", Some(j.destruction));
    s.push('\n');
    parameters_into(&mut s, j, &v.url, false);
    results_into(&mut s, j, &v.url, false);
    if let Some(e) = &j.error {
        let _ = writeln!(
            s,
            "<uws:errorSummary type=\"{}\" hasDetail=\"true\"><uws:message>{}</uws:message></uws:errorSummary>",
            e.kind.as_str(),
            xml_escape(&e.message)
        );
    }
    let _ = write!(s, "<uws:jobInfo><queue>{}</queue>", xml_escape(&j.queue));
    let (read, estimated) = match (v.progress, j.results.first()) {
        (Some(p), _) => (Some(p.0), p.1),
        (None, Some(r)) => (Some(r.rows), j.estimated_rows.unwrap_or(0)),
        (None, None) => (None, j.estimated_rows.unwrap_or(0)),
    };
    s.push_str("<progress");
    if let Some(read) = read.filter(|_| v.progress.is_some()) {
        let _ = write!(s, " rowsRead=\"{read}\"");
    }
    if estimated > 0 {
        let _ = write!(s, " rowsEstimated=\"{estimated}\"");
    }
    s.push_str("/>");
    if let Some(r) = j.results.first() {
        let _ = write!(
            s,
            "<result rows=\"{}\" bytes=\"{}\" overflow=\"{}\"/>",
            r.rows, r.size, r.overflow
        );
    }
    s.push_str("</uws:jobInfo>\n</uws:job>\n");
    s
}

/// `<uws:results>` alone, for `/results`.
pub(crate) fn results(j: &Job, url: &str) -> String {
    let mut s = String::from(HEAD);
    results_into(&mut s, j, url, true);
    s
}

fn results_into(s: &mut String, j: &Job, url: &str, root: bool) {
    let ns = if root {
        format!(" {NAMESPACES}")
    } else {
        String::new()
    };
    let _ = writeln!(s, "<uws:results{ns}>");
    for r in &j.results {
        let _ = writeln!(
            s,
            "<uws:result id=\"{id}\" xlink:href=\"{url}/results/{id}\" size=\"{}\" mime-type=\"{}\"/>",
            r.size,
            xml_escape(&r.mime_type),
            id = xml_escape(&r.id)
        );
    }
    s.push_str("</uws:results>\n");
}

/// `<uws:parameters>` alone, for `/parameters`.
pub(crate) fn parameters(j: &Job, url: &str) -> String {
    let mut s = String::from(HEAD);
    parameters_into(&mut s, j, url, true);
    s
}

fn parameters_into(s: &mut String, j: &Job, url: &str, root: bool) {
    let ns = if root {
        format!(" {NAMESPACES}")
    } else {
        String::new()
    };
    let _ = writeln!(s, "<uws:parameters{ns}>");
    for (name, value) in &j.parameters {
        let id = xml_escape(&name.to_ascii_lowercase());
        let _ = writeln!(
            s,
            "<uws:parameter id=\"{id}\">{}</uws:parameter>",
            xml_escape(value)
        );
    }
    // An inline upload is also a parameter by reference, its content at
    // /parameters/NAME (UWS 1.1 §2.2.3.1.1).
    for part in crate::job_runner::inline_part_names(j) {
        let _ = writeln!(
            s,
            "<uws:parameter id=\"{}\" byReference=\"true\">{url}/parameters/{}</uws:parameter>",
            xml_escape(&part),
            crate::job_runner::url_segment(&part)
        );
    }
    s.push_str("</uws:parameters>\n");
}
