//! Named validators: check digits and structural checks that a regex cannot express.
//!
//! A rule names its validator (`validator = "iban"`); [`Validator::from_name`] is the only
//! registry, so an unknown name is a load-time error. Validators receive the whole matched text
//! (separators included) and never allocate.

/// One named check. Each variant documents the algorithm it implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validator {
    /// Luhn mod 10 over all digits (payment cards, IMEI, SE personnummer).
    Luhn,
    /// Luhn plus a known issuer prefix and a length that issuer uses.
    PaymentCard,
    /// 15-digit IMEI with Luhn check digit.
    Imei,
    /// ISO 13616 IBAN: country length table and ISO 7064 mod 97-10.
    Iban,
    /// Spanish DNI (8 digits + letter) or NIE (X/Y/Z + 7 digits + letter), letter = n mod 23.
    EsDniNie,
    /// Italian codice fiscale: 16 characters, check letter from odd/even position tables.
    ItCodiceFiscale,
    /// Dutch BSN: 9 digits, "11-proef" (weights 9..2 and -1).
    NlBsn,
    /// Polish PESEL: 11 digits, weights 1,3,7,9; a valid encoded birth date.
    PlPesel,
    /// French NIR: 13 characters (2A/2B for Corsica) + 2-digit key = 97 - (n mod 97).
    FrNir,
    /// German Steuer-ID: 11 digits, digit-repetition rule, ISO 7064 MOD 11,10 check digit.
    DeSteuerId,
    /// Swedish personnummer: (YY)YYMMDD[-+]NNNC, Luhn over the last 10 digits, a valid date.
    SePersonnummer,
    /// Belgian national number: YYMMDDSSSCC, CC = 97 - (n mod 97), with the 2000+ variant.
    BeNationalNumber,
    /// UK National Insurance number: allowed prefix letters, 6 digits, suffix A–D.
    UkNino,
    /// UK NHS number: 10 digits, mod 11 with weights 10..2.
    UkNhs,
    /// US SSN: area not 000/666/9xx, group not 00, serial not 0000.
    UsSsn,
    /// IPv4 address with octets ≤ 255.
    Ipv4,
    /// IPv6 address (any textual form std accepts).
    Ipv6,
    /// A calendar date (YYYY-MM-DD, DD.MM.YYYY, DD/MM/YYYY, YYYYMMDD) in 1900..=2030.
    PastDate,
    /// A latitude in [-90, 90] with at least 3 decimals.
    Latitude,
    /// A longitude in [-180, 180] with at least 3 decimals.
    Longitude,
    /// A number of years in 0..=120 (`42`, or `22.0` as a float column exports it).
    Age,
    /// A picture: bytes starting with a JPEG, PNG, GIF, BMP or TIFF signature, also behind the
    /// OLE header of old Access and SQL Server exports, written as hex (`0x` or bare, as a
    /// binary column reads) or base64.
    Image,
}

impl Validator {
    /// Every validator name, for `rules explain` and error messages.
    pub const NAMES: &'static [&'static str] = &[
        "luhn",
        "payment-card",
        "imei",
        "iban",
        "es-dni-nie",
        "it-codice-fiscale",
        "nl-bsn",
        "pl-pesel",
        "fr-nir",
        "de-steuer-id",
        "se-personnummer",
        "be-national-number",
        "uk-nino",
        "uk-nhs",
        "us-ssn",
        "ipv4",
        "ipv6",
        "past-date",
        "latitude",
        "longitude",
        "age",
        "image",
    ];

    pub fn from_name(name: &str) -> Option<Validator> {
        use Validator::*;
        Some(match name {
            "luhn" => Luhn,
            "payment-card" => PaymentCard,
            "imei" => Imei,
            "iban" => Iban,
            "es-dni-nie" => EsDniNie,
            "it-codice-fiscale" => ItCodiceFiscale,
            "nl-bsn" => NlBsn,
            "pl-pesel" => PlPesel,
            "fr-nir" => FrNir,
            "de-steuer-id" => DeSteuerId,
            "se-personnummer" => SePersonnummer,
            "be-national-number" => BeNationalNumber,
            "uk-nino" => UkNino,
            "uk-nhs" => UkNhs,
            "us-ssn" => UsSsn,
            "ipv4" => Ipv4,
            "ipv6" => Ipv6,
            "past-date" => PastDate,
            "latitude" => Latitude,
            "longitude" => Longitude,
            "age" => Age,
            "image" => Image,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        let i = self as usize;
        Self::NAMES[i]
    }

    /// True when `text` passes the check.
    pub fn check(self, text: &str) -> bool {
        use Validator::*;
        match self {
            Luhn => {
                let d = Digits::of(text);
                d.len >= 2 && luhn(&d)
            }
            PaymentCard => payment_card(text),
            Imei => {
                let d = Digits::of(text);
                d.len == 15 && luhn(&d)
            }
            Iban => iban(text),
            EsDniNie => es_dni_nie(text),
            ItCodiceFiscale => it_codice_fiscale(text),
            NlBsn => nl_bsn(text),
            PlPesel => pl_pesel(text),
            FrNir => fr_nir(text),
            DeSteuerId => de_steuer_id(text),
            SePersonnummer => se_personnummer(text),
            BeNationalNumber => be_national_number(text),
            UkNino => uk_nino(text),
            UkNhs => uk_nhs(text),
            UsSsn => us_ssn(text),
            Ipv4 => text.trim().parse::<std::net::Ipv4Addr>().is_ok(),
            Ipv6 => text.trim().parse::<std::net::Ipv6Addr>().is_ok(),
            PastDate => past_date(text),
            Latitude => coordinate(text, 90.0),
            Longitude => coordinate(text, 180.0),
            Age => {
                let t = text.trim();
                let whole = t
                    .strip_suffix(".0")
                    .or_else(|| t.strip_suffix(".5"))
                    .unwrap_or(t);
                whole.parse::<u32>().is_ok_and(|a| a <= 120)
            }
            Image => image(text),
        }
    }
}

/// The ASCII digits of a text, at most 32, without allocating.
struct Digits {
    d: [u8; 32],
    len: usize,
    overflow: bool,
}

impl Digits {
    fn of(text: &str) -> Digits {
        let mut d = [0u8; 32];
        let mut len = 0;
        let mut overflow = false;
        for b in text.bytes() {
            if b.is_ascii_digit() {
                if len == 32 {
                    overflow = true;
                    break;
                }
                d[len] = b - b'0';
                len += 1;
            }
        }
        Digits { d, len, overflow }
    }

    fn as_slice(&self) -> &[u8] {
        &self.d[..self.len]
    }

    fn number(&self, range: std::ops::Range<usize>) -> u64 {
        self.d[range].iter().fold(0u64, |n, &x| n * 10 + x as u64)
    }
}

fn luhn(d: &Digits) -> bool {
    if d.overflow {
        return false;
    }
    let mut sum = 0u32;
    for (i, &x) in d.as_slice().iter().rev().enumerate() {
        let mut v = x as u32;
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

fn only(text: &str, allowed_separators: &[u8]) -> bool {
    text.bytes()
        .all(|b| b.is_ascii_alphanumeric() || allowed_separators.contains(&b))
}

fn payment_card(text: &str) -> bool {
    if !only(text, b" -") {
        return false;
    }
    if text.bytes().any(|b| b.is_ascii_alphabetic()) {
        return false;
    }
    let d = Digits::of(text);
    if d.overflow || !(12..=19).contains(&d.len) || !luhn(&d) {
        return false;
    }
    let p2 = d.number(0..2);
    let p4 = d.number(0..4);
    let p6 = d.number(0..6);
    let len = d.len;
    let visa = d.d[0] == 4 && matches!(len, 13 | 16 | 19);
    let mastercard = ((51..=55).contains(&p2) || (2221..=2720).contains(&p4)) && len == 16;
    let amex = matches!(p2, 34 | 37) && len == 15;
    let discover = (p4 == 6011 || p2 == 65 || (644..=649).contains(&d.number(0..3)))
        && (16..=19).contains(&len);
    let jcb = (3528..=3589).contains(&p4) && (16..=19).contains(&len);
    let diners = (p2 == 36 || (300..=305).contains(&d.number(0..3))) && (14..=19).contains(&len);
    let maestro = matches!(
        p4,
        5018 | 5020 | 5038 | 5893 | 6304 | 6759 | 6761 | 6762 | 6763
    ) && (12..=19).contains(&len);
    let unionpay = p2 == 62 && (16..=19).contains(&len);
    let _ = p6;
    visa || mastercard || amex || discover || jcb || diners || maestro || unionpay
}

/// IBAN lengths per ISO 13616 registry (SEPA countries and common others).
const IBAN_LENGTHS: &[(&[u8; 2], usize)] = &[
    (b"AD", 24),
    (b"AT", 20),
    (b"BE", 16),
    (b"BG", 22),
    (b"CH", 21),
    (b"CY", 28),
    (b"CZ", 24),
    (b"DE", 22),
    (b"DK", 18),
    (b"EE", 20),
    (b"ES", 24),
    (b"FI", 18),
    (b"FR", 27),
    (b"GB", 22),
    (b"GI", 23),
    (b"GR", 27),
    (b"HR", 21),
    (b"HU", 28),
    (b"IE", 22),
    (b"IS", 26),
    (b"IT", 27),
    (b"LI", 21),
    (b"LT", 20),
    (b"LU", 20),
    (b"LV", 21),
    (b"MC", 27),
    (b"MT", 31),
    (b"NL", 18),
    (b"NO", 15),
    (b"PL", 28),
    (b"PT", 25),
    (b"RO", 24),
    (b"SE", 24),
    (b"SI", 19),
    (b"SK", 24),
    (b"SM", 27),
    (b"VA", 22),
    (b"TR", 26),
    (b"UA", 29),
    (b"RS", 22),
    (b"AL", 28),
    (b"BA", 20),
    (b"ME", 22),
    (b"MK", 19),
    (b"XK", 20),
    (b"MD", 24),
    (b"GE", 22),
    (b"SA", 24),
    (b"AE", 23),
    (b"IL", 23),
    (b"FO", 18),
    (b"GL", 18),
];

/// [`IBAN_LENGTHS`] by country code, letters `A`..`Z` as 0..26 (`0`: no such country): one
/// load instead of a search, asked before anything is copied, since most values a column's
/// pattern lets through (hex digests, codes) name no IBAN country.
const IBAN_LENGTH_BY_CODE: [u8; 26 * 26] = {
    let mut table = [0u8; 26 * 26];
    let mut i = 0;
    while i < IBAN_LENGTHS.len() {
        let (code, len) = IBAN_LENGTHS[i];
        table[(code[0] - b'A') as usize * 26 + (code[1] - b'A') as usize] = len as u8;
        i += 1;
    }
    table
};

/// The IBAN length of a country code (either case), if it is one.
#[inline]
fn iban_length(a: u8, b: u8) -> Option<usize> {
    let (a, b) = (a.to_ascii_uppercase(), b.to_ascii_uppercase());
    if !a.is_ascii_uppercase() || !b.is_ascii_uppercase() {
        return None;
    }
    match IBAN_LENGTH_BY_CODE[(a - b'A') as usize * 26 + (b - b'A') as usize] {
        0 => None,
        len => Some(len as usize),
    }
}

fn iban(text: &str) -> bool {
    let mut code = text.bytes().filter(|&b| b != b' ');
    let (Some(a), Some(b)) = (code.next(), code.next()) else {
        return false;
    };
    let Some(len) = iban_length(a, b) else {
        return false;
    };
    let mut buf = [0u8; 34];
    let mut n = 0;
    for b in text.bytes() {
        if b == b' ' {
            continue;
        }
        if !b.is_ascii_alphanumeric() || n == 34 {
            return false;
        }
        buf[n] = b.to_ascii_uppercase();
        n += 1;
    }
    if n < 15 {
        return false;
    }
    let s = &buf[..n];
    if n != len || !s[2].is_ascii_digit() || !s[3].is_ascii_digit() {
        return false;
    }
    // Move the first four characters to the end, letters become 10..35, then mod 97 == 1.
    // Accumulate in a u64 and reduce only when it could overflow on the next step.
    let mut rem: u64 = 0;
    for &b in s[4..].iter().chain(s[..4].iter()) {
        if b.is_ascii_digit() {
            rem = rem * 10 + (b - b'0') as u64;
        } else {
            rem = rem * 100 + (b - b'A' + 10) as u64;
        }
        if rem >= 1 << 50 {
            rem %= 97;
        }
    }
    rem % 97 == 1
}

fn es_dni_nie(text: &str) -> bool {
    const LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    let mut buf = [0u8; 9];
    let mut n = 0;
    for b in text.bytes() {
        if b == b'-' || b == b' ' || b == b'.' {
            continue;
        }
        if n == 9 {
            return false;
        }
        buf[n] = b.to_ascii_uppercase();
        n += 1;
    }
    if n != 9 {
        return false;
    }
    let lead = match buf[0] {
        b'X' => 0,
        b'Y' => 1,
        b'Z' => 2,
        b'0'..=b'9' => buf[0] - b'0',
        _ => return false,
    } as u32;
    if !buf[1..8].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let num = buf[1..8]
        .iter()
        .fold(lead, |acc, &b| acc * 10 + (b - b'0') as u32);
    LETTERS[(num % 23) as usize] == buf[8]
}

fn it_codice_fiscale(text: &str) -> bool {
    const ODD: [u32; 36] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, // 0-9
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
        23, // A-Z
    ];
    let s = text.trim().as_bytes();
    if s.len() != 16 {
        return false;
    }
    let mut up = [0u8; 16];
    for (i, &b) in s.iter().enumerate() {
        up[i] = b.to_ascii_uppercase();
    }
    // Shape: 6 letters, then digits (or omocodia letters), a month letter, ...; checked by regex.
    let mut sum = 0u32;
    for (i, &c) in up[..15].iter().enumerate() {
        let idx = match c {
            b'0'..=b'9' => (c - b'0') as usize,
            b'A'..=b'Z' => (c - b'A') as usize + 10,
            _ => return false,
        };
        if i % 2 == 0 {
            sum += ODD[idx];
        } else {
            sum += match c {
                b'0'..=b'9' => (c - b'0') as u32,
                _ => (c - b'A') as u32,
            };
        }
    }
    up[15] == b'A' + (sum % 26) as u8
}

fn nl_bsn(text: &str) -> bool {
    if !only(text, b" .-") {
        return false;
    }
    let d = Digits::of(text);
    if d.len != 9 || d.overflow || text.bytes().any(|b| b.is_ascii_alphabetic()) {
        return false;
    }
    let mut sum: i32 = 0;
    for (i, &x) in d.as_slice()[..8].iter().enumerate() {
        sum += (9 - i as i32) * x as i32;
    }
    sum -= d.d[8] as i32;
    sum != 0 && sum % 11 == 0
}

fn pl_pesel(text: &str) -> bool {
    let t = text.trim();
    if t.len() != 11 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let d = Digits::of(t);
    const W: [u32; 10] = [1, 3, 7, 9, 1, 3, 7, 9, 1, 3];
    let sum: u32 = W.iter().zip(d.as_slice()).map(|(w, &x)| w * x as u32).sum();
    if (10 - sum % 10) % 10 != d.d[10] as u32 {
        return false;
    }
    // Month encodes the century: +80 (1800s), +0 (1900s), +20 (2000s), +40, +60.
    let month = d.number(2..4) % 20;
    let day = d.number(4..6);
    (1..=12).contains(&month) && (1..=31).contains(&day)
}

fn fr_nir(text: &str) -> bool {
    let mut buf = [0u8; 15];
    let mut n = 0;
    for b in text.bytes() {
        if b == b' ' || b == b'.' || b == b'-' {
            continue;
        }
        if n == 15 {
            return false;
        }
        buf[n] = b.to_ascii_uppercase();
        n += 1;
    }
    if n != 15 || !matches!(buf[0], b'1' | b'2' | b'3' | b'4' | b'7' | b'8') {
        return false;
    }
    // Corsica: 2A → subtract 1,000,000; 2B → subtract 2,000,000 (digits 6-7 hold the department).
    let mut corsica = 0u64;
    if buf[6] == b'A' || buf[6] == b'B' {
        if buf[5] != b'2' {
            return false;
        }
        corsica = if buf[6] == b'A' { 1_000_000 } else { 2_000_000 };
        buf[6] = b'0';
    }
    if !buf.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let num = buf[..13]
        .iter()
        .fold(0u64, |a, &b| a * 10 + (b - b'0') as u64)
        - corsica;
    let key = (buf[13] - b'0') as u64 * 10 + (buf[14] - b'0') as u64;
    // The month field (digits 4-5) also takes pseudo-months (20-42, 50+, 99) for people whose
    // birth month is unknown, so only the key is checked.
    key == 97 - num % 97 && key >= 1
}

fn de_steuer_id(text: &str) -> bool {
    if !only(text, b" ") || text.bytes().any(|b| b.is_ascii_alphabetic()) {
        return false;
    }
    let d = Digits::of(text);
    if d.len != 11 || d.d[0] == 0 {
        return false;
    }
    // Since 2016: in the first ten digits exactly one digit appears two or three times, and no
    // digit appears three times in a row.
    let mut counts = [0u8; 10];
    for &x in &d.d[..10] {
        counts[x as usize] += 1;
    }
    let repeated: Vec<u8> = counts.iter().copied().filter(|&c| c > 1).collect();
    if repeated.len() != 1 || repeated[0] > 3 {
        return false;
    }
    if d.d[..10].windows(3).any(|w| w[0] == w[1] && w[1] == w[2]) {
        return false;
    }
    // ISO 7064 MOD 11,10
    let mut product = 10u32;
    for &x in &d.d[..10] {
        let mut sum = (x as u32 + product) % 10;
        if sum == 0 {
            sum = 10;
        }
        product = (sum * 2) % 11;
    }
    let check = (11 - product) % 10;
    check == d.d[10] as u32
}

fn valid_date(year: u64, month: u64, day: u64) -> bool {
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

fn se_personnummer(text: &str) -> bool {
    let t = text.trim();
    if !only(t, b"-+") {
        return false;
    }
    let d = Digits::of(t);
    let (start, ok_len) = match d.len {
        10 => (0, true),
        12 => (2, true),
        _ => (0, false),
    };
    if !ok_len || t.bytes().any(|b| b.is_ascii_alphabetic()) {
        return false;
    }
    let month = d.number(start + 2..start + 4);
    let mut day = d.number(start + 4..start + 6);
    if day > 60 {
        day -= 60; // samordningsnummer (co-ordination number)
    }
    let year = if start == 2 {
        d.number(0..4)
    } else {
        2000 + d.number(0..2)
    };
    if !valid_date(year, month, day) {
        return false;
    }
    let mut ten = Digits {
        d: [0; 32],
        len: 10,
        overflow: false,
    };
    ten.d[..10].copy_from_slice(&d.d[start..start + 10]);
    luhn(&ten)
}

fn be_national_number(text: &str) -> bool {
    if !only(text, b" .-") || text.bytes().any(|b| b.is_ascii_alphabetic()) {
        return false;
    }
    let d = Digits::of(text);
    if d.len != 11 {
        return false;
    }
    let base = d.number(0..9);
    let check = d.number(9..11);
    let month = d.number(2..4);
    // Month 0 is allowed (unknown birth date); bis numbers add 20 or 40.
    if !(month <= 12 || (20..=32).contains(&month) || (40..=52).contains(&month)) {
        return false;
    }
    check == 97 - base % 97 || check == 97 - (2_000_000_000 + base) % 97
}

fn uk_nino(text: &str) -> bool {
    let mut buf = [0u8; 9];
    let mut n = 0;
    for b in text.bytes() {
        if b == b' ' {
            continue;
        }
        if n == 9 {
            return false;
        }
        buf[n] = b.to_ascii_uppercase();
        n += 1;
    }
    if n != 9 {
        return false;
    }
    let (a, b) = (buf[0], buf[1]);
    if !a.is_ascii_uppercase() || !b.is_ascii_uppercase() {
        return false;
    }
    if b"DFIQUV".contains(&a) || b"DFIOQUV".contains(&b) {
        return false;
    }
    if [b"BG", b"GB", b"NK", b"KN", b"TN", b"NT", b"ZZ"].contains(&&[a, b]) {
        return false;
    }
    buf[2..8].iter().all(u8::is_ascii_digit) && (b'A'..=b'D').contains(&buf[8])
}

fn uk_nhs(text: &str) -> bool {
    if !only(text, b" -") || text.bytes().any(|b| b.is_ascii_alphabetic()) {
        return false;
    }
    let d = Digits::of(text);
    if d.len != 10 {
        return false;
    }
    let sum: u32 = d.d[..9]
        .iter()
        .enumerate()
        .map(|(i, &x)| (10 - i as u32) * x as u32)
        .sum();
    let check = 11 - sum % 11;
    let check = if check == 11 { 0 } else { check };
    check != 10 && check == d.d[9] as u32
}

fn us_ssn(text: &str) -> bool {
    if !only(text, b" -") || text.bytes().any(|b| b.is_ascii_alphabetic()) {
        return false;
    }
    let d = Digits::of(text);
    if d.len != 9 {
        return false;
    }
    let area = d.number(0..3);
    let group = d.number(3..5);
    let serial = d.number(5..9);
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
        // numbers that were published or advertised and never issued
        && !(area == 78 && group == 5 && serial == 1120)
        && !(area == 219 && group == 9 && serial == 9999)
        && !(area == 123 && group == 45 && serial == 6789)
}

fn past_date(text: &str) -> bool {
    let t = text.trim();
    let t = t.split(['T', ' ']).next().unwrap_or(t);
    let d = Digits::of(t);
    if d.len != 8 {
        return false;
    }
    let b = t.as_bytes();
    let (y, m, day) =
        if b.len() == 8 || (b.len() == 10 && (b[4] == b'-' || b[4] == b'/' || b[4] == b'.')) {
            (d.number(0..4), d.number(4..6), d.number(6..8))
        } else {
            (d.number(4..8), d.number(2..4), d.number(0..2))
        };
    (1900..=2030).contains(&y) && valid_date(y, m, day)
}

fn coordinate(text: &str, limit: f64) -> bool {
    let t = text.trim();
    let decimals = t.split_once(['.', ',']).map_or(0, |(_, frac)| frac.len());
    let parsed = t.replace(',', ".").parse::<f64>();
    decimals >= 3 && parsed.is_ok_and(|v| v.abs() <= limit)
}

/// The signatures of picture formats.
const PICTURES: &[&[u8]] = &[
    b"\xFF\xD8\xFF",
    b"\x89PNG\r\n\x1A\n",
    b"GIF87a",
    b"GIF89a",
    b"BM",
    b"II*\0",
    b"MM\0*",
];

/// The OLE object header that Access and SQL Server put before a picture (Northwind's Photo).
const OLE_HEADER: &[u8] = b"\x15\x1C";

/// Whether decoded bytes starting with `b` may be a picture: the first byte of a signature or
/// of the OLE header.
fn opens_picture(b: u8) -> bool {
    PICTURES.iter().any(|p| p[0] == b) || OLE_HEADER[0] == b
}

fn image(text: &str) -> bool {
    use base64::Engine;
    let t = text.trim();
    // Only the first bytes matter: 600 hex digits or 400 base64 characters.
    let hex = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    // The first byte decides most values: read as hex and as base64, it opens no picture and
    // no OLE header, so nothing else is read or decoded (a digest column, an IBAN).
    let hex_first = hex
        .get(..2)
        .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
        .and_then(|h| u8::from_str_radix(h, 16).ok());
    let mut group = [0u8; 3];
    let base64_first = t
        .get(..4)
        .and_then(|h| {
            base64::engine::general_purpose::STANDARD
                .decode_slice(h, &mut group)
                .ok()
        })
        .filter(|&n| n > 0)
        .map(|_| group[0]);
    if !hex_first.is_some_and(opens_picture) && !base64_first.is_some_and(opens_picture) {
        return false;
    }
    let bytes = if hex.len() >= 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        let head = &hex[..hex.len().min(600) & !1];
        ::hex::decode(head).ok()
    } else if t.len() >= 16 && t.is_ascii() {
        let head = &t[..t.len().min(400) & !3];
        base64::engine::general_purpose::STANDARD.decode(head).ok()
    } else {
        None
    };
    let Some(bytes) = bytes else { return false };
    let starts = |b: &[u8]| {
        PICTURES
            .iter()
            .any(|p| b.starts_with(p) && b.len() > p.len() + 4)
    };
    if starts(&bytes) {
        return true;
    }
    // Behind an OLE header: the picture starts within its first 300 bytes.
    bytes.starts_with(OLE_HEADER) && (20..bytes.len().min(300)).any(|i| starts(&bytes[i..]))
}

#[cfg(test)]
mod tests {
    use super::Validator::{self, *};
    use super::{IBAN_LENGTH_BY_CODE, IBAN_LENGTHS, iban_length};

    fn ok(v: Validator, s: &str) {
        assert!(v.check(s), "{} should accept {s}", v.name());
    }
    fn bad(v: Validator, s: &str) {
        assert!(!v.check(s), "{} should reject {s}", v.name());
    }

    #[test]
    fn names_round_trip() {
        for name in Validator::NAMES {
            let v = Validator::from_name(name).expect("every listed name resolves");
            assert_eq!(v.name(), *name);
        }
        assert!(Validator::from_name("nope").is_none());
    }

    #[test]
    fn luhn_accepts_valid_and_rejects_one_digit_changed() {
        ok(Luhn, "79927398713");
        bad(Luhn, "79927398714");
    }

    #[test]
    fn payment_cards_need_luhn_and_issuer() {
        ok(PaymentCard, "4111 1111 1111 1111");
        ok(PaymentCard, "5500-0000-0000-0004");
        ok(PaymentCard, "378282246310005");
        ok(PaymentCard, "6011111111111117");
        bad(PaymentCard, "4111 1111 1111 1112");
        bad(PaymentCard, "378282246310006");
        // Luhn-valid but no issuer starts with 9
        bad(PaymentCard, "9111111111111116");
    }

    #[test]
    fn imei_is_15_digits_with_luhn() {
        ok(Imei, "490154203237518");
        bad(Imei, "490154203237519");
        bad(Imei, "49015420323751");
    }

    /// Pictures in hex (with or without `0x`, behind an OLE header) and in base64 are found; a
    /// value whose first decoded byte opens no picture is refused before the rest is decoded.
    #[test]
    fn pictures_by_their_signature_in_hex_or_base64() {
        let gif = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            b"GIF89a\x01\x00\x01\x00\x80\x00\x00",
        );
        let png = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            b"\x89PNG\r\n\x1A\n\x00\x00\x00\rIHDR",
        );
        let ole = format!("151C{}FFD8FFE000104A464946", "00".repeat(30));
        for v in [
            "ffd8ffe000104a46494600010100",
            "0x424D3E000000000000003E000000",
            gif.as_str(),
            png.as_str(),
            ole.as_str(),
        ] {
            ok(Image, v);
        }
        let text = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            b"hello world, this is text",
        );
        for v in [
            "d41d8cd98f00b204e9800998ecf8427e",
            "DE89370400440532013000",
            "ffd8ff",
            "151C000000000000000000000000",
            text.as_str(),
        ] {
            bad(Image, v);
        }
    }

    #[test]
    fn iban_country_table_holds_every_registry_entry_in_either_case() {
        for (code, len) in IBAN_LENGTHS {
            assert_eq!(iban_length(code[0], code[1]), Some(*len));
            let lower = code.to_ascii_lowercase();
            assert_eq!(iban_length(lower[0], lower[1]), Some(*len));
        }
        let known = IBAN_LENGTH_BY_CODE.iter().filter(|&&l| l != 0).count();
        assert_eq!(known, IBAN_LENGTHS.len(), "no code listed twice");
        for (a, b) in [(b'Q', b'Q'), (b'1', b'2'), (b'@', b'A'), (0xC3, b'A')] {
            assert_eq!(iban_length(a, b), None);
        }
    }

    #[test]
    fn iban_mod_97() {
        ok(Iban, "DE89 3704 0044 0532 0130 00");
        ok(Iban, "GB82WEST12345698765432");
        ok(Iban, "fr1420041010050500013m02606");
        ok(Iban, "NL91ABNA0417164300");
        bad(Iban, "DE89 3704 0044 0532 0130 01");
        bad(Iban, "GB82WEST12345698765431");
        bad(Iban, "DE89370400440532013"); // wrong length
        bad(Iban, "QQ89370400440532013000");
    }

    #[test]
    fn spanish_dni_and_nie_letters() {
        ok(EsDniNie, "12345678Z");
        ok(EsDniNie, "X1234567L");
        ok(EsDniNie, "00000000T");
        bad(EsDniNie, "12345678A");
        bad(EsDniNie, "X1234567M");
    }

    #[test]
    fn italian_codice_fiscale_check_letter() {
        ok(ItCodiceFiscale, "RSSMRA85T10A562S");
        ok(ItCodiceFiscale, "MRTMTT91D08F205J");
        bad(ItCodiceFiscale, "RSSMRA85T10A562T");
        bad(ItCodiceFiscale, "MRTMTT91D08F205K");
    }

    #[test]
    fn dutch_bsn_eleven_proof() {
        ok(NlBsn, "111222333");
        ok(NlBsn, "123456782");
        bad(NlBsn, "123456783");
        bad(NlBsn, "111222334");
        bad(NlBsn, "000000000");
    }

    #[test]
    fn polish_pesel_weights_and_date() {
        ok(PlPesel, "44051401359");
        ok(PlPesel, "02070803628");
        bad(PlPesel, "44051401358");
        bad(PlPesel, "02070803627");
        bad(PlPesel, "44151401358");
    }

    #[test]
    fn french_nir_key() {
        ok(FrNir, "1 84 12 76 451 089 46");
        ok(FrNir, "269054958815780");
        ok(FrNir, "2 69 05 2A 588 157 17");
        bad(FrNir, "1 84 12 76 451 089 47");
        bad(FrNir, "269054958815781");
    }

    #[test]
    fn german_steuer_id_mod_11_10() {
        ok(DeSteuerId, "86095742719");
        ok(DeSteuerId, "47036892816");
        ok(DeSteuerId, "65929970489");
        bad(DeSteuerId, "86095742718");
        bad(DeSteuerId, "47036892817");
        // no repeated digit
        bad(DeSteuerId, "12345678903");
    }

    #[test]
    fn swedish_personnummer_luhn_and_date() {
        ok(SePersonnummer, "811218-9876");
        ok(SePersonnummer, "19811218-9876");
        ok(SePersonnummer, "8112189876");
        bad(SePersonnummer, "811218-9877");
        bad(SePersonnummer, "811318-9876");
    }

    #[test]
    fn belgian_national_number_mod_97() {
        ok(BeNationalNumber, "85.07.30-033.28");
        ok(BeNationalNumber, "17.07.30-033.84");
        bad(BeNationalNumber, "85.07.30-033.29");
        bad(BeNationalNumber, "17.07.30-033.85");
    }

    #[test]
    fn uk_nino_prefix_and_suffix() {
        ok(UkNino, "AB123456C");
        ok(UkNino, "QQ 12 34 56 C".replace("QQ", "JG").as_str());
        bad(UkNino, "GB123456A");
        bad(UkNino, "DA123456A");
        bad(UkNino, "AB123456E");
    }

    #[test]
    fn uk_nhs_mod_11() {
        ok(UkNhs, "943 476 5919");
        ok(UkNhs, "4010232137");
        bad(UkNhs, "943 476 5918");
        bad(UkNhs, "4010232138");
    }

    #[test]
    fn us_ssn_area_group_serial() {
        ok(UsSsn, "536-22-1234");
        bad(UsSsn, "000-22-1234");
        bad(UsSsn, "666-22-1234");
        bad(UsSsn, "936-22-1234");
        bad(UsSsn, "536-00-1234");
        bad(UsSsn, "536-22-0000");
        bad(UsSsn, "078-05-1120");
    }

    #[test]
    fn ip_addresses() {
        ok(Ipv4, "192.168.1.20");
        bad(Ipv4, "192.168.1.256");
        ok(Ipv6, "2001:db8::8a2e:370:7334");
        bad(Ipv6, "2001:db8::8a2e::7334");
    }

    #[test]
    fn dates_in_many_layouts() {
        ok(PastDate, "1985-04-12");
        ok(PastDate, "12.04.1985");
        ok(PastDate, "12/04/1985");
        ok(PastDate, "19850412");
        bad(PastDate, "1985-02-30");
        bad(PastDate, "1885-04-12");
    }

    #[test]
    fn coordinates_and_age() {
        ok(Latitude, "48.85661");
        ok(Latitude, "-33,8688");
        bad(Latitude, "91.00000");
        bad(Latitude, "48.8");
        ok(Longitude, "2.35222");
        bad(Longitude, "181.000");
        ok(Age, "42");
        ok(Age, "22.0");
        bad(Age, "22.3");
        bad(Age, "142");
        bad(Age, "-3");
    }
}
