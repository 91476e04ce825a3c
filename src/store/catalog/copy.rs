//! Rows in the text format of `COPY … FROM STDIN`: a first load writes its variant and price
//! rows this way, which costs PostgreSQL less per row than an insert from column arrays.

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::{Postgres, Transaction};

/// Rows for one `COPY`, tab-separated, one a line, `\N` for null.
#[derive(Default)]
pub(super) struct CopyRows {
    data: Vec<u8>,
    rows: u64,
    /// A JSON value's text before it is escaped into `data`, reused from field to field.
    json: Vec<u8>,
}

impl CopyRows {
    pub(super) fn text(&mut self, s: &str) -> &mut Self {
        escape_into(&mut self.data, s.as_bytes());
        self.end_field()
    }

    /// `object`, which serialises as a JSON object, as its JSON text (for a `jsonb` column).
    pub(super) fn json_object(&mut self, object: &impl serde::Serialize) -> &mut Self {
        self.json.clear();
        match serde_json::to_writer(&mut self.json, object) {
            Ok(()) => escape_into(&mut self.data, &self.json),
            // Only a map whose keys are not strings fails, and no caller writes one.
            Err(_) => self.data.extend_from_slice(b"{}"),
        }
        self.end_field()
    }

    pub(super) fn opt_text(&mut self, s: Option<&str>) -> &mut Self {
        match s {
            Some(s) => self.text(s),
            None => self.null(),
        }
    }

    pub(super) fn int(&mut self, v: i64) -> &mut Self {
        self.data
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
        self.end_field()
    }

    pub(super) fn opt_int(&mut self, v: Option<i64>) -> &mut Self {
        match v {
            Some(v) => self.int(v),
            None => self.null(),
        }
    }

    /// A `bytea` in hex (`\x0a1b…`, its backslash escaped).
    pub(super) fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.data.extend_from_slice(b"\\\\x");
        for b in bytes {
            self.data
                .extend_from_slice(&[HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
        }
        self.end_field()
    }

    pub(super) fn opt_time(&mut self, t: Option<DateTime<Utc>>) -> &mut Self {
        match t {
            Some(t) => self.text(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            None => self.null(),
        }
    }

    /// Ends the row its fields were written to.
    pub(super) fn end_row(&mut self) {
        if let Some(last) = self.data.last_mut() {
            *last = b'\n';
        }
        self.rows += 1;
    }

    pub(super) fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Copies the rows into `table (columns)`; returns how many went in.
    pub(super) async fn copy_into(
        &self,
        tx: &mut Transaction<'static, Postgres>,
        table_columns: &str,
    ) -> Result<u64, sqlx::Error> {
        if self.is_empty() {
            return Ok(0);
        }
        let mut copy = tx
            .copy_in_raw(&format!("copy {table_columns} from stdin"))
            .await?;
        copy.send(self.data.as_slice()).await?;
        copy.finish().await
    }

    fn null(&mut self) -> &mut Self {
        self.data.extend_from_slice(b"\\N");
        self.end_field()
    }

    fn end_field(&mut self) -> &mut Self {
        self.data.push(b'\t');
        self
    }
}

/// Appends `bytes` with what the text format must escape escaped: backslash, newline, carriage
/// return and tab.
fn escape_into(data: &mut Vec<u8>, bytes: &[u8]) {
    for chunk in bytes.split_inclusive(|b| matches!(b, b'\\' | b'\n' | b'\r' | b'\t')) {
        let (escape, head): (&[u8], _) = match chunk.split_last() {
            Some((b'\\', head)) => (b"\\\\", head),
            Some((b'\n', head)) => (b"\\n", head),
            Some((b'\r', head)) => (b"\\r", head),
            Some((b'\t', head)) => (b"\\t", head),
            _ => (b"", chunk),
        };
        data.extend_from_slice(head);
        data.extend_from_slice(escape);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_escaped_and_nulls_marked() {
        let mut rows = CopyRows::default();
        rows.text("a\tb\\c\nd\re")
            .opt_text(None)
            .int(-7)
            .opt_int(None)
            .bytes(&[0x0a, 0xff])
            .opt_time(Some("2026-01-02T03:04:05Z".parse().unwrap()));
        rows.end_row();
        rows.text("").end_row();
        assert_eq!(
            String::from_utf8(rows.data).unwrap(),
            "a\\tb\\\\c\\nd\\re\t\\N\t-7\t\\N\t\\\\x0aff\t2026-01-02T03:04:05Z\n\n"
        );
        assert_eq!(rows.rows, 2);
    }

    #[test]
    fn json_text_is_escaped_like_any_text() {
        let mut rows = CopyRows::default();
        rows.json_object(&serde_json::json!({"Size": "a\"b\\c\td"}))
            .json_object(&serde_json::json!({}))
            .end_row();
        // The JSON text is {"Size":"a\"b\\c\td"}; each of its backslashes is doubled.
        assert_eq!(
            String::from_utf8(rows.data).unwrap(),
            concat!(r#"{"Size":"a\\"b\\\\c\\td"}"#, "\t{}\n")
        );
    }
}
