//! Content coding of results (RFC 9110 §8.4, §12.5.3), done where the
//! result is written, on the engine's pool rather than the HTTP threads,
//! and chosen so that compression never caps a download: zstd when the
//! client accepts it (fast and tight), else gzip or deflate at their
//! fastest level, and nothing at all for a format that is compressed
//! already (Parquet).

use axum::http::HeaderMap;
use axum::http::header::ACCEPT_ENCODING;
use flate2::Compression;
use std::io::Write;
use table_writers::Format;

/// A content coding the service writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    /// As written.
    Identity,
    /// zstd, level 1.
    Zstd,
    /// gzip, fastest level.
    Gzip,
    /// zlib-wrapped deflate (what HTTP calls deflate), fastest level.
    Deflate,
}

impl Coding {
    /// The coding for a result in `format`, given the request's
    /// Accept-Encoding: the best the client accepts (q > 0), preferring
    /// zstd, then gzip, then deflate.
    pub(crate) fn negotiate(headers: &HeaderMap, format: Format) -> Coding {
        if format == Format::Parquet {
            return Coding::Identity;
        }
        let accepted: Vec<(String, f32)> = headers
            .get_all(ACCEPT_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|item| {
                let mut parts = item.split(';').map(str::trim);
                let name = parts.next()?.to_ascii_lowercase();
                let q = parts
                    .find_map(|p| p.strip_prefix("q="))
                    .map_or(1.0, |q| q.trim().parse::<f32>().unwrap_or(0.0));
                Some((name, q))
            })
            .collect();
        let accepts = |name: &str| {
            accepted
                .iter()
                .find(|(n, _)| n == name)
                .or_else(|| accepted.iter().find(|(n, _)| n == "*"))
                .is_some_and(|(_, q)| *q > 0.0)
        };
        [Coding::Zstd, Coding::Gzip, Coding::Deflate]
            .into_iter()
            .find(|c| accepts(c.token()))
            .unwrap_or(Coding::Identity)
    }

    /// The Content-Encoding token.
    pub(crate) fn token(self) -> &'static str {
        match self {
            Coding::Identity => "identity",
            Coding::Zstd => "zstd",
            Coding::Gzip => "gzip",
            Coding::Deflate => "deflate",
        }
    }

    /// An encoder for a new response body.
    pub(crate) fn encoder(self) -> std::io::Result<Encoder> {
        Ok(match self {
            Coding::Identity => Encoder::Identity,
            Coding::Zstd => Encoder::Zstd(zstd::stream::write::Encoder::new(Vec::new(), 1)?),
            Coding::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                Vec::new(),
                Compression::fast(),
            )),
            Coding::Deflate => Encoder::Deflate(flate2::write::ZlibEncoder::new(
                Vec::new(),
                Compression::fast(),
            )),
        })
    }
}

/// Compresses a body piece by piece.
pub(crate) enum Encoder {
    Identity,
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    Deflate(flate2::write::ZlibEncoder<Vec<u8>>),
}

impl Encoder {
    /// The encoded bytes of `piece` that are ready (possibly none: the
    /// compressor buffers until it has a block).
    pub(crate) fn encode(&mut self, piece: &[u8]) -> std::io::Result<Vec<u8>> {
        // Each encoder only appends to its Vec, so taking what it holds
        // hands over complete output and leaves it an empty buffer.
        Ok(match self {
            Encoder::Identity => piece.to_vec(),
            Encoder::Zstd(e) => {
                e.write_all(piece)?;
                std::mem::take(e.get_mut())
            }
            Encoder::Gzip(e) => {
                e.write_all(piece)?;
                std::mem::take(e.get_mut())
            }
            Encoder::Deflate(e) => {
                e.write_all(piece)?;
                std::mem::take(e.get_mut())
            }
        })
    }

    /// The end of the encoded body.
    pub(crate) fn finish(&mut self) -> std::io::Result<Vec<u8>> {
        Ok(match self {
            Encoder::Identity => Vec::new(),
            Encoder::Zstd(e) => {
                e.do_finish()?;
                std::mem::take(e.get_mut())
            }
            Encoder::Gzip(e) => {
                e.try_finish()?;
                std::mem::take(e.get_mut())
            }
            Encoder::Deflate(e) => {
                e.try_finish()?;
                std::mem::take(e.get_mut())
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn accept(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ACCEPT_ENCODING, value.parse().unwrap());
        h
    }

    #[test]
    fn the_best_accepted_coding_is_chosen_and_parquet_is_left_alone() {
        let vot = Format::VoTableBinary2;
        // What pyvo and astroquery send (requests' default).
        assert_eq!(
            Coding::negotiate(&accept("gzip, deflate"), vot),
            Coding::Gzip
        );
        assert_eq!(
            Coding::negotiate(&accept("gzip, deflate, br, zstd"), vot),
            Coding::Zstd
        );
        assert_eq!(
            Coding::negotiate(&accept("zstd;q=0, gzip"), vot),
            Coding::Gzip
        );
        assert_eq!(Coding::negotiate(&accept("br"), vot), Coding::Identity);
        assert_eq!(Coding::negotiate(&accept("*"), vot), Coding::Zstd);
        assert_eq!(Coding::negotiate(&HeaderMap::new(), vot), Coding::Identity);
        assert_eq!(
            Coding::negotiate(&accept("gzip"), Format::Parquet),
            Coding::Identity
        );
    }

    #[test]
    fn pieces_encode_to_one_decodable_stream() {
        let text: Vec<u8> = (0..200_000u32).flat_map(|i| i.to_le_bytes()).collect();
        for coding in [Coding::Gzip, Coding::Zstd, Coding::Deflate] {
            let mut e = coding.encoder().unwrap();
            let mut out = Vec::new();
            for piece in text.chunks(70_001) {
                out.extend(e.encode(piece).unwrap());
            }
            out.extend(e.finish().unwrap());
            let mut back = Vec::new();
            match coding {
                Coding::Gzip => flate2::read::GzDecoder::new(&out[..])
                    .read_to_end(&mut back)
                    .unwrap(),
                Coding::Deflate => flate2::read::ZlibDecoder::new(&out[..])
                    .read_to_end(&mut back)
                    .unwrap(),
                _ => zstd::stream::read::Decoder::new(&out[..])
                    .unwrap()
                    .read_to_end(&mut back)
                    .unwrap(),
            };
            assert_eq!(back, text, "{coding:?}");
        }
    }
}
