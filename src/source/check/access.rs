//! How requests reach the upstream: `[auth]`, whose secrets come from the environment, and
//! `[rate_limit]`.

use reqwest::header::HeaderName;

use super::Checker;
use crate::settings::Secret;
use crate::source::{Auth, RateLimit, SourceError, file};

impl Checker<'_> {
    /// The value of the variable that `key` names.
    fn secret(&self, key: &str, variable: Option<String>) -> Result<String, SourceError> {
        let name = self.required(key, variable)?;
        (self.env)(&name)
            .filter(|value| !value.is_empty())
            .ok_or_else(|| (self.fail)(key, format!("the variable {name} is not set")))
    }

    pub(super) fn auth(&self, a: file::Auth) -> Result<Auth, SourceError> {
        for (key, written) in [
            ("token", a.token.is_some()),
            ("value", a.value.is_some()),
            ("user", a.user.is_some()),
            ("password", a.password.is_some()),
        ] {
            if written {
                return Err((self.fail)(
                    &format!("auth.{key}"),
                    format!(
                        "secrets are never written in the file: set auth.{key}_env to the name of the variable that holds it"
                    ),
                ));
            }
        }
        Ok(match a.kind.as_deref().unwrap_or("none") {
            "none" => Auth::None,
            "bearer" => Auth::Bearer {
                token: Secret::new(self.secret("auth.token_env", a.token_env)?),
            },
            "header" => {
                let name = self.required("auth.header", a.header)?;
                Auth::Header {
                    name: HeaderName::try_from(name.as_str()).map_err(|e| {
                        (self.fail)("auth.header", format!("{name:?} is not a header name: {e}"))
                    })?,
                    value: Secret::new(self.secret("auth.value_env", a.value_env)?),
                }
            }
            "basic" => Auth::Basic {
                user: self.secret("auth.user_env", a.user_env)?,
                password: Secret::new(self.secret("auth.password_env", a.password_env)?),
            },
            other => {
                return Err((self.fail)(
                    "auth.type",
                    format!("unknown type {other:?}; expected none, bearer, header or basic"),
                ));
            }
        })
    }

    pub(super) fn rate_limit(&self, r: file::RateLimit) -> Result<RateLimit, SourceError> {
        let requests = self.required("rate_limit.requests", r.requests)?;
        if requests == 0 {
            return Err((self.fail)(
                "rate_limit.requests",
                "must be at least 1".into(),
            ));
        }
        let per = self.duration("rate_limit.per", &self.required("rate_limit.per", r.per)?)?;
        if per.is_zero() {
            return Err((self.fail)(
                "rate_limit.per",
                "must be longer than 0".into(),
            ));
        }
        Ok(RateLimit { requests, per })
    }
}
