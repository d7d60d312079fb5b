//! Formats by magic bytes, never by extension: a malicious pickle named `.safetensors` or a
//! zip named `.bin` is inspected as what it is.

/// What a buffer's first bytes say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Protocol 2+ pickle (`\x80` + protocol byte).
    Pickle,
    /// Might be a protocol 0/1 pickle (starts with an opcode); confirmed by interpreting it.
    MaybePickle,
    Zip,
    Npy,
    Tar,
    Gzip,
    Zlib,
    Bzip2,
    Xz,
    Lzma,
    SevenZip,
    Hdf5,
    Gguf,
    Safetensors,
    /// ONNX ModelProto (no magic: `.onnx` name and a leading `ir_version` field).
    Onnx,
    /// TensorFlow `saved_model.pb` (no magic: by name).
    SavedModel,
    /// Not a format that can carry code (text, images...), or unrecognised.
    Other,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Pickle | Kind::MaybePickle => "pickle",
            Kind::Zip => "zip",
            Kind::Npy => "npy",
            Kind::Tar => "tar",
            Kind::Gzip => "gzip",
            Kind::Zlib => "zlib",
            Kind::Bzip2 => "bzip2",
            Kind::Xz => "xz",
            Kind::Lzma => "lzma",
            Kind::SevenZip => "7z",
            Kind::Hdf5 => "hdf5",
            Kind::Gguf => "gguf",
            Kind::Safetensors => "safetensors",
            Kind::Onnx => "onnx",
            Kind::SavedModel => "tf-savedmodel",
            Kind::Other => "other",
        }
    }
}

/// Opcodes a protocol 0/1 pickle can start with.
const P0_START: &[u8] = b"(.0123FIJKLMNPQRSTUVXabcdeghijlmopqrstu}])GB";

pub fn sniff(head: &[u8]) -> Kind {
    let starts = |m: &[u8]| head.starts_with(m);
    if head.len() >= 2 && head[0] == 0x80 && head[1] <= 5 {
        return Kind::Pickle;
    }
    if starts(b"PK\x03\x04") || starts(b"PK\x05\x06") || starts(b"PK\x07\x08") {
        return Kind::Zip;
    }
    if starts(b"\x93NUMPY") {
        return Kind::Npy;
    }
    if head.len() >= 262 && &head[257..262] == b"ustar" {
        return Kind::Tar;
    }
    if starts(b"\x1f\x8b") {
        return Kind::Gzip;
    }
    if starts(b"BZh") {
        return Kind::Bzip2;
    }
    if starts(b"\xfd7zXZ\x00") {
        return Kind::Xz;
    }
    if starts(b"7z\xbc\xaf\x27\x1c") {
        return Kind::SevenZip;
    }
    if starts(b"\x89HDF\r\n\x1a\n") {
        return Kind::Hdf5;
    }
    if starts(b"GGUF") {
        return Kind::Gguf;
    }
    if head.len() >= 2 && head[0] == 0x78 && matches!(head[1], 0x01 | 0x5e | 0x9c | 0xda) {
        return Kind::Zlib;
    }
    if head.len() >= 3 && head[0] == 0x5d && head[1] == 0 && head[2] == 0 {
        return Kind::Lzma;
    }
    if head.len() >= 9 {
        let n = u64::from_le_bytes(head[..8].try_into().unwrap());
        if (2..(100 << 20)).contains(&n) && head[8] == b'{' {
            return Kind::Safetensors;
        }
    }
    match head.first() {
        Some(b) if P0_START.contains(b) => Kind::MaybePickle,
        _ => Kind::Other,
    }
}

/// [`sniff`], then the protobuf formats that have no magic: `saved_model.pb` by name, ONNX by
/// a `.onnx` name and a leading `ir_version` field.
pub fn kind_of(head: &[u8], name: &str) -> Kind {
    let k = sniff(head);
    if !matches!(k, Kind::Other | Kind::MaybePickle) {
        return k;
    }
    let lname = name.to_ascii_lowercase();
    let base = lname.rsplit('/').next().unwrap_or(&lname);
    if base == "saved_model.pb" {
        Kind::SavedModel
    } else if base.ends_with(".onnx") && head.first() == Some(&0x08) {
        Kind::Onnx
    } else {
        k
    }
}

/// Extensions pickle loaders are used with; a protocol 0/1 pickle with one of these is
/// inspected even when its first opcode already fails.
pub fn pickle_extension(name: &str) -> bool {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    matches!(
        ext.as_deref(),
        Some(
            "pkl"
                | "pickle"
                | "pt"
                | "pth"
                | "bin"
                | "joblib"
                | "ckpt"
                | "dat"
                | "data"
                | "p"
                | "sav"
                | "model"
                | "mar"
                | "dill"
                | "pck"
                | "pcl"
                | "pk"
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_decide() {
        assert_eq!(sniff(b"\x80\x04\x95"), Kind::Pickle);
        assert_eq!(sniff(b"PK\x03\x04rest"), Kind::Zip);
        assert_eq!(sniff(b"\x93NUMPY\x01\x00"), Kind::Npy);
        assert_eq!(sniff(b"cos\nsystem\n"), Kind::MaybePickle);
        assert_eq!(sniff(b"# readme"), Kind::Other);
        assert_eq!(sniff(b"{\"a\": 1}"), Kind::Other);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n"), Kind::Other);
        assert_eq!(
            sniff(b"\x0e\x00\x00\x00\x00\x00\x00\x00{\"a\":{}}"),
            Kind::Safetensors
        );
        assert!(pickle_extension("model.PT") && !pickle_extension("README.md"));
    }
}
