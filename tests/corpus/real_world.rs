//! The real-world-shapes corpus: tables in the shapes of the sample databases and public
//! exports the scanner meets outside the EU tables it was built on (Northwind, Chinook, Sakila,
//! Titanic, hospital and HR exports, membership lists in several languages).
//!
//! US/UK/Asian formats, coded values under telling names, identifiers failing their checksum,
//! lookup and company tables beside person tables, person keys by reference, pictures and photo
//! paths, sparse identifiers in free text. The labels are written by hand from what each
//! column is meant to hold, never from the scanner's output: a column of a lookup or company
//! table holds no personal data, whatever it looks like.

use super::*;

const ROWS: usize = 200;

const US_FIRST: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "Michael",
    "Jennifer",
    "William",
    "Linda",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "DeShawn",
    "Aaliyah",
    "Tyrone",
    "Keisha",
    "Nguyen",
    "Priya",
    "Chidi",
    "Oluwaseun",
];
const US_MIDDLE: &[&str] = &[
    "A", "B.", "Lee", "Marie", "Ann", "J", "Ray", "Emeka", "Harris",
];
const US_LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Okafor",
    "Nakamura",
    "O'Connor",
    "McDonald",
    "Van Buren",
    "Fitzgerald",
    "Washington",
    "Kowalczyk",
    "Thompson",
    "Nwosu",
];
const US_CITIES: &[(&str, &str, &str)] = &[
    ("Portland", "OR", "972"),
    ("Seattle", "WA", "981"),
    ("Austin", "TX", "787"),
    ("Boston", "MA", "021"),
    ("Chicago", "IL", "606"),
    ("Denver", "CO", "802"),
    ("Atlanta", "GA", "303"),
    ("Phoenix", "AZ", "850"),
    ("Madison", "WI", "537"),
    ("Tampa", "FL", "336"),
];
const CA_CITIES: &[(&str, &str, &str)] = &[
    ("Toronto", "ON", "M5V"),
    ("Vancouver", "BC", "V6B"),
    ("Montréal", "QC", "H2X"),
    ("Calgary", "AB", "T2P"),
    ("Halifax", "NS", "B3H"),
];
const STREETS: &[&str] = &[
    "Elm",
    "Oak",
    "Maple",
    "Main",
    "Cedar",
    "Pine",
    "Washington",
    "Lake",
    "Hill",
    "Park",
];
const STREET_KINDS: &[&str] = &["St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Way", "Ct"];
const COMPANIES: &[&str] = &[
    "Acme Widgets Inc.",
    "Northwind Traders Ltd",
    "Blauer Fisch GmbH",
    "Soluciones Ibéricas S.A.",
    "Bolt & Nut Co.",
    "Lumière SARL",
    "Kwik Logistics LLC",
    "Tulip Trading B.V.",
    "Globex Corporation",
    "Initech Inc",
    "Rossi & Figli S.p.A.",
    "Nordic Timber AB",
];

fn us_name(rng: &mut Rng) -> (String, String) {
    (
        rng.pick(US_FIRST).to_string(),
        rng.pick(US_LAST).to_string(),
    )
}

fn lower_ascii(s: &str) -> String {
    s.to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

fn us_email(rng: &mut Rng) -> String {
    let (f, l) = us_name(rng);
    let domain = rng.pick(&[
        "gmail.com",
        "yahoo.com",
        "comcast.net",
        "example.org",
        "aol.com",
    ]);
    match rng.below(3) {
        0 => format!("{}.{}@{domain}", lower_ascii(&f), lower_ascii(&l)),
        1 => format!(
            "{}{}{}@{domain}",
            &lower_ascii(&f)[..1],
            lower_ascii(&l),
            rng.below(99)
        ),
        _ => format!("{}_{}@{domain}", lower_ascii(&l), rng.range(1950, 2005)),
    }
}

/// North American numbers in the layouts exports use, some with an extension.
fn nanp(rng: &mut Rng) -> String {
    let (a, b, c) = (rng.range(201, 989), rng.range(200, 999), rng.digits(4));
    let n = match rng.below(6) {
        0 => format!("({a}) {b}-{c}"),
        1 => format!("{a}.{b}.{c}"),
        2 => format!("{a}-{b}-{c}"),
        3 => format!("+1 {a} {b} {c}"),
        4 => format!("1-{a}-{b}-{c}"),
        _ => format!("+1 ({a}) {b}-{c}"),
    };
    if rng.chance(0.15) {
        format!("{n} x{}", rng.range(10, 9999))
    } else {
        n
    }
}

fn us_zip(rng: &mut Rng, prefix: &str) -> String {
    if rng.chance(0.2) {
        format!("{prefix}{:02}-{}", rng.below(100), rng.digits(4))
    } else {
        format!("{prefix}{:02}", rng.below(100))
    }
}

fn ca_postcode(rng: &mut Rng, prefix: &str) -> String {
    format!(
        "{prefix} {}{}{}",
        rng.below(10),
        rng.pick(LETTERS),
        rng.below(10)
    )
}

fn uk_postcode(rng: &mut Rng) -> String {
    format!(
        "{}{} {}{}{}",
        rng.pick(&[
            "SW1A", "EC1A", "W1", "M1", "B33", "CR2", "LS1", "EH1", "G2", "BS8"
        ]),
        "",
        rng.below(10),
        rng.pick(&["A", "B", "D", "E", "F", "G", "H", "J", "L", "N", "P"]),
        rng.pick(&["A", "B", "D", "E", "F", "G", "H", "J", "L", "N", "P"])
    )
}

fn street(rng: &mut Rng) -> String {
    let s = format!(
        "{} {} {}",
        rng.range(1, 9899),
        rng.pick(STREETS),
        rng.pick(STREET_KINDS)
    );
    if rng.chance(0.2) {
        format!("{s} Apt {}", rng.range(1, 40))
    } else {
        s
    }
}

fn us_date(rng: &mut Rng, y0: u64, y1: u64) -> String {
    let (y, m, d) = (rng.range(y0, y1), rng.range(1, 12), rng.range(1, 28));
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    match rng.below(5) {
        0 => format!("{m:02}/{d:02}/{:02}", y % 100),
        1 => format!("{m}/{d}/{y}"),
        2 => format!("{} {d}, {y}", MONTHS[m as usize - 1]),
        3 => format!(
            "{d} {} {y} (age {})",
            &MONTHS[m as usize - 1][..3],
            2026 - y
        ),
        _ => format!("{m:02}/{d:02}/{y}"),
    }
}

fn ssn_mixed(rng: &mut Rng) -> String {
    let (a, b, c) = (
        rng.range(100, 665),
        rng.range(10, 99),
        rng.range(1000, 9999),
    );
    match rng.below(4) {
        0 => format!("{a}-{b}-{c}"),
        1 => format!("{a} {b} {c}"),
        2 => format!("{a}{b}{c}"),
        _ => format!("00{a}{b}{c}"),
    }
}

/// A card-like number that fails Luhn, as test data and tokens do.
fn failing_card(rng: &mut Rng) -> String {
    failing(rng, Validator::PaymentCard, |r| {
        format!("{}{}", r.pick(&["4", "5", "37"]), r.digits(15))
    })[..16]
        .to_string()
}

fn hex_of(bytes: &[u8]) -> String {
    format!("0x{}", hex::encode_upper(bytes))
}

/// A picture behind the OLE header of old Access / SQL Server exports (Northwind's Photo).
fn ole_bitmap(rng: &mut Rng) -> String {
    let mut b = vec![
        0x15, 0x1C, 0x2F, 0x00, 0x02, 0x00, 0x00, 0x00, 0x0D, 0x00, 0x0E, 0x00, 0x14, 0x00, 0x21,
        0x00, 0xFF, 0xFF, 0xFF, 0xFF,
    ];
    b.extend_from_slice(b"Bitmap Image\0Paint.Picture\0");
    b.extend_from_slice(&[0x01, 0x05, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00]);
    b.extend_from_slice(b"BM");
    b.extend((0..120).map(|_| rng.below(256) as u8));
    hex_of(&b)
}

/// A PNG, base64 as a text export of a blob column holds it (Sakila's staff.picture).
fn png_base64(rng: &mut Rng) -> String {
    use base64::Engine;
    let mut b = vec![
        0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D,
    ];
    b.extend_from_slice(b"IHDR");
    b.extend((0..90).map(|_| rng.below(256) as u8));
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn jpeg_hex(rng: &mut Rng) -> String {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
    ];
    b.extend((0..100).map(|_| rng.below(256) as u8));
    hex_of(&b)
}

fn customers(rng: &mut Rng) -> Table {
    table_of_rows(
        "customers.csv",
        ROWS,
        rng,
        vec![
            (
                "CustomerId",
                vec!["user.unique_id"],
                g(|_, i| Some((i + 1).to_string())),
            ),
            ("FirstName", vec!["user.name.first"], some(|r| us_name(r).0)),
            ("LastName", vec!["user.name.last"], some(|r| us_name(r).1)),
            (
                "Company",
                vec!["user.contact.organization"],
                g(|r, _| r.chance(0.35).then(|| r.pick(COMPANIES).to_string())),
            ),
            ("Address", vec!["user.contact.address.street"], some(street)),
            (
                "City",
                vec!["user.contact.address.city"],
                some(|r| r.pick(US_CITIES).0.to_string()),
            ),
            (
                "State",
                vec!["user.contact.address.state"],
                g(|r, _| {
                    (!r.chance(0.1)).then(|| {
                        if r.chance(0.8) {
                            r.pick(US_CITIES).1.to_string()
                        } else {
                            r.pick(CA_CITIES).1.to_string()
                        }
                    })
                }),
            ),
            (
                "Country",
                vec!["user.contact.address.country"],
                some(|r| {
                    r.pick(&["USA", "Canada", "United States", "US"])
                        .to_string()
                }),
            ),
            (
                "PostalCode",
                vec!["user.contact.address.postal_code"],
                some(|r| {
                    if r.chance(0.75) {
                        let p = r.pick(US_CITIES).2;
                        us_zip(r, p)
                    } else {
                        let p = r.pick(CA_CITIES).2;
                        ca_postcode(r, p)
                    }
                }),
            ),
            ("Phone", vec!["user.contact.phone_number"], some(nanp)),
            (
                "Fax",
                vec!["user.contact.fax_number"],
                g(|r, _| r.chance(0.4).then(|| nanp(r))),
            ),
            ("Email", vec!["user.contact.email"], some(us_email)),
            (
                "SupportRepId",
                vec!["user.unique_id"],
                some(|r| r.range(3, 8).to_string()),
            ),
        ],
    )
}

const NOTES: &[&str] = &[
    "Education includes a BA in psychology from Colorado State University. She also completed a course in business correspondence.",
    "Holds a BTS in commerce from a school in Lille and joined the company after two years as a sales representative.",
    "Fluent in French and German; was promoted to sales manager after his first year and transferred to the London office.",
    "Graduated with a degree in English literature and speaks Japanese; she is a member of the Toastmasters club.",
    "Served in the army before joining; his hobbies are sailing and chess, and he volunteers at the local library.",
];

fn employees(rng: &mut Rng) -> Table {
    table_of_rows(
        "employees.csv",
        40,
        rng,
        vec![
            (
                "EmployeeID",
                vec!["user.unique_id"],
                g(|_, i| Some((i + 1).to_string())),
            ),
            ("LastName", vec!["user.name.last"], some(|r| us_name(r).1)),
            ("FirstName", vec!["user.name.first"], some(|r| us_name(r).0)),
            (
                "Title",
                vec!["user.job_title"],
                some(|r| {
                    r.pick(&[
                        "Sales Representative",
                        "Vice President, Sales",
                        "Sales Manager",
                        "Inside Sales Coordinator",
                        "IT Staff",
                    ])
                    .to_string()
                }),
            ),
            (
                "BirthDate",
                vec!["user.demographic.date_of_birth"],
                some(|r| {
                    format!(
                        "{}-{:02}-{:02} 00:00:00.000",
                        r.range(1950, 1999),
                        r.range(1, 12),
                        r.range(1, 28)
                    )
                }),
            ),
            ("Address", vec!["user.contact.address.street"], some(street)),
            (
                "City",
                vec!["user.contact.address.city"],
                some(|r| {
                    r.pick(&["Seattle", "Tacoma", "Kirkland", "Redmond", "London"])
                        .to_string()
                }),
            ),
            (
                "Region",
                vec!["user.contact.address.state"],
                g(|r, _| (!r.chance(0.2)).then(|| "WA".to_string())),
            ),
            (
                "PostalCode",
                vec!["user.contact.address.postal_code"],
                some(|r| {
                    if r.chance(0.8) {
                        us_zip(r, "981")
                    } else {
                        uk_postcode(r)
                    }
                }),
            ),
            (
                "Country",
                vec!["user.contact.address.country"],
                some(|r| r.pick(&["USA", "UK"]).to_string()),
            ),
            ("HomePhone", vec!["user.contact.phone_number"], some(nanp)),
            ("Photo", vec!["user.content.self_image"], some(ole_bitmap)),
            (
                "Notes",
                vec!["user.content"],
                some(|r| r.pick(NOTES).to_string()),
            ),
            (
                "ReportsTo",
                vec!["user.unique_id"],
                g(|r, i| (i > 0).then(|| r.range(1, 5).to_string())),
            ),
            (
                "PhotoPath",
                vec!["user.content.self_image"],
                g(|r, i| {
                    let last = *r.pick(US_LAST);
                    Some(format!(
                        "http://accweb/emmployees/{}{i}.bmp",
                        lower_ascii(last)
                    ))
                }),
            ),
        ],
    )
}

fn staff(rng: &mut Rng) -> Table {
    table_of_rows(
        "staff.csv",
        40,
        rng,
        vec![
            (
                "staff_id",
                vec!["user.unique_id"],
                g(|_, i| Some((i + 1).to_string())),
            ),
            (
                "first_name",
                vec!["user.name.first"],
                some(|r| us_name(r).0),
            ),
            ("last_name", vec!["user.name.last"], some(|r| us_name(r).1)),
            (
                "picture",
                vec!["user.content.self_image"],
                g(|r, _| r.chance(0.7).then(|| png_base64(r))),
            ),
            ("email", vec!["user.contact.email"], some(us_email)),
            ("store_id", vec![], some(|r| r.range(1, 2).to_string())),
            ("active", vec![], some(|r| r.range(0, 1).to_string())),
            (
                "username",
                vec!["user.account.username"],
                some(|r| {
                    let (f, l) = us_name(r);
                    format!("{}{}", lower_ascii(&f), &lower_ascii(&l)[..1])
                }),
            ),
            (
                "password",
                vec!["user.authorization.password"],
                some(|r| hex(r, 40)),
            ),
            (
                "last_update",
                vec![],
                some(|r| {
                    format!(
                        "2006-02-15 {:02}:{:02}:{:02}",
                        r.below(24),
                        r.below(60),
                        r.below(60)
                    )
                }),
            ),
        ],
    )
}

fn patients(rng: &mut Rng) -> Table {
    table_of_rows(
        "patients.csv",
        ROWS,
        rng,
        vec![
            (
                "patient_id",
                vec!["user.unique_id"],
                g(|_, i| Some(format!("P{:07}", 1_000_000 + i))),
            ),
            (
                "name",
                vec!["user.name"],
                some(|r| {
                    let (f, l) = us_name(r);
                    let m = r.pick(US_MIDDLE);
                    format!(
                        "{}, {} {}",
                        l.to_uppercase(),
                        f.to_uppercase(),
                        m.to_uppercase()
                    )
                }),
            ),
            (
                "sex",
                vec!["user.demographic.gender"],
                some(|r| r.pick(&["M", "F", "F", "M", "U"]).to_string()),
            ),
            (
                "race",
                vec!["user.demographic.race_ethnicity"],
                some(|r| r.pick(&["W", "B", "A", "H", "O", "W", "W"]).to_string()),
            ),
            (
                "marital_status",
                vec!["user.demographic.marital_status"],
                some(|r| r.pick(&["S", "M", "D", "W", "M"]).to_string()),
            ),
            (
                "religion",
                vec!["user.demographic.religious_belief"],
                some(|r| {
                    r.pick(&["CATH", "PROT", "JEW", "MUS", "NONE", "UNK", "BUD"])
                        .to_string()
                }),
            ),
            (
                "dob",
                vec!["user.demographic.date_of_birth"],
                some(|r| us_date(r, 1930, 2008)),
            ),
            (
                "age",
                vec!["user.demographic.age_range"],
                some(|r| r.range(18, 96).to_string()),
            ),
            (
                "blood_type",
                vec!["user.health_and_medical"],
                some(|r| r.pick(&["A+", "A-", "B+", "O+", "O-", "AB+"]).to_string()),
            ),
            (
                "diagnosis",
                vec!["user.health_and_medical"],
                some(|r| {
                    r.pick(&[
                        "E11.9",
                        "I10",
                        "Type 2 diabetes mellitus",
                        "J45.909",
                        "Essential hypertension",
                        "F32.1",
                        "M54.5",
                    ])
                    .to_string()
                }),
            ),
            (
                "ssn",
                vec!["user.government_id.national_identification_number"],
                some(ssn_mixed),
            ),
            (
                "zip",
                vec!["user.contact.address.postal_code"],
                some(|r| {
                    let p = r.pick(US_CITIES).2;
                    us_zip(r, p)
                }),
            ),
            ("phone", vec!["user.contact.phone_number"], some(nanp)),
            (
                "address",
                vec!["user.contact.address"],
                some(|r| {
                    let (city, state, zip) = *r.pick(US_CITIES);
                    let s = street(r);
                    let z = us_zip(r, zip);
                    format!("{s}, {city}, {state} {z}")
                }),
            ),
            (
                "admitted_at",
                vec![],
                some(|r| {
                    format!(
                        "2025-{:02}-{:02} {:02}:{:02}",
                        r.range(1, 12),
                        r.range(1, 28),
                        r.below(24),
                        r.below(60)
                    )
                }),
            ),
            (
                "ward",
                vec![],
                some(|r| format!("{}{}", r.range(1, 6), r.pick(&["A", "B", "C"]))),
            ),
        ],
    )
}

fn passengers(rng: &mut Rng) -> Table {
    table_of_rows(
        "passengers.csv",
        ROWS,
        rng,
        vec![
            (
                "PassengerId",
                vec!["user.unique_id"],
                g(|_, i| Some((i + 1).to_string())),
            ),
            ("Survived", vec![], some(|r| r.range(0, 1).to_string())),
            ("Pclass", vec![], some(|r| r.range(1, 3).to_string())),
            (
                "Name",
                vec!["user.name"],
                some(|r| {
                    let (f, l) = us_name(r);
                    match r.below(4) {
                        0 => format!("{l}, Mr. {f} {}", r.pick(US_MIDDLE)),
                        1 => format!("{l}, Mrs. {f} ({} {})", r.pick(US_FIRST), r.pick(US_LAST)),
                        2 => format!("{l}, Miss. {f}"),
                        _ => format!("{l}, Master. {f}"),
                    }
                }),
            ),
            (
                "Sex",
                vec!["user.demographic.gender"],
                some(|r| r.pick(&["male", "female"]).to_string()),
            ),
            (
                "Age",
                vec!["user.demographic.age_range"],
                g(|r, _| (!r.chance(0.2)).then(|| format!("{}.0", r.range(1, 80)))),
            ),
            ("SibSp", vec![], some(|r| r.range(0, 4).to_string())),
            ("Parch", vec![], some(|r| r.range(0, 3).to_string())),
            (
                "Ticket",
                vec![],
                some(|r| {
                    if r.chance(0.3) {
                        format!(
                            "{} {}",
                            r.pick(&["A/5", "PC", "STON/O2.", "C.A."]),
                            r.range(1000, 99999)
                        )
                    } else {
                        r.range(100000, 399999).to_string()
                    }
                }),
            ),
            (
                "Fare",
                vec![],
                some(|r| format!("{}.{:02}", r.range(7, 260), r.below(100))),
            ),
            (
                "Cabin",
                vec![],
                g(|r, _| {
                    r.chance(0.25)
                        .then(|| format!("{}{}", r.pick(&["B", "C", "D", "E"]), r.range(2, 120)))
                }),
            ),
            (
                "Embarked",
                vec![],
                some(|r| r.pick(&["S", "C", "Q"]).to_string()),
            ),
        ],
    )
}

fn mitglieder(rng: &mut Rng) -> Table {
    table_of_rows(
        "mitglieder.csv",
        ROWS,
        rng,
        vec![
            (
                "Mitgliedsnummer",
                vec!["user.unique_id"],
                g(|_, i| Some(format!("M-{:05}", 20 + i))),
            ),
            (
                "Anrede",
                vec!["user.demographic.gender"],
                some(|r| {
                    r.pick(&["Herr", "Frau", "Frau", "Herr", "Divers"])
                        .to_string()
                }),
            ),
            (
                "Vorname",
                vec!["user.name.first"],
                some(|r| r.pick(FIRST).to_string()),
            ),
            (
                "Nachname",
                vec!["user.name.last"],
                some(|r| r.pick(LAST).to_string()),
            ),
            (
                "Geburtsdatum",
                vec!["user.demographic.date_of_birth"],
                some(|r| {
                    format!(
                        "{:02}.{:02}.{}",
                        r.range(1, 28),
                        r.range(1, 12),
                        r.range(1940, 2006)
                    )
                }),
            ),
            (
                "Strasse",
                vec!["user.contact.address.street"],
                some(|r| {
                    format!(
                        "{} {}",
                        r.pick(&[
                            "Hauptstr.",
                            "Lindenweg",
                            "Am Markt",
                            "Goethestraße",
                            "Bahnhofstr."
                        ]),
                        r.range(1, 120)
                    )
                }),
            ),
            (
                "PLZ",
                vec!["user.contact.address.postal_code"],
                some(|r| format!("{:05}", r.range(1067, 99998))),
            ),
            (
                "Ort",
                vec!["user.contact.address.city"],
                some(|r| {
                    r.pick(&["Berlin", "Köln", "Leipzig", "Hamburg", "Bonn"])
                        .to_string()
                }),
            ),
            (
                "Telefon",
                vec!["user.contact.phone_number"],
                some(|r| format!("+49 {} {}", r.range(30, 89), r.digits(7))),
            ),
            ("EMail", vec!["user.contact.email"], some(email)),
            (
                "Konfession",
                vec!["user.demographic.religious_belief"],
                some(|r| {
                    r.pick(&[
                        "römisch-katholisch",
                        "evangelisch",
                        "catholic",
                        "muslimisch",
                        "ohne",
                        "orthodox",
                        "jüdisch",
                        "protestant",
                    ])
                    .to_string()
                }),
            ),
            (
                "Gewerkschaft",
                vec!["user.demographic.trade_union_membership"],
                some(|r| r.pick(&["ja", "nein"]).to_string()),
            ),
            (
                "Beitrag",
                vec![],
                some(|r| format!("{},{:02}", r.range(5, 40), r.below(100))),
            ),
            (
                "Eintritt",
                vec![],
                some(|r| format!("{}-{:02}-01", r.range(1990, 2025), r.range(1, 12))),
            ),
        ],
    )
}

/// A lookup table of regions: places, prefixes and time zones, about no one.
fn regions(rng: &mut Rng) -> Table {
    const R: &[(&str, &str, &str, &str, &str)] = &[
        ("Bavaria", "Germany", "Munich", "Europe/Berlin", "+49"),
        ("Île-de-France", "France", "Paris", "Europe/Paris", "+33"),
        ("Ontario", "Canada", "Toronto", "America/Toronto", "+1"),
        (
            "California",
            "USA",
            "Sacramento",
            "America/Los_Angeles",
            "+1",
        ),
        ("Lombardy", "Italy", "Milan", "Europe/Rome", "+39"),
        ("Catalonia", "Spain", "Barcelona", "Europe/Madrid", "+34"),
        ("Masovia", "Poland", "Warsaw", "Europe/Warsaw", "+48"),
        (
            "North Holland",
            "Netherlands",
            "Amsterdam",
            "Europe/Amsterdam",
            "+31",
        ),
        ("Kantō", "Japan", "Tokyo", "Asia/Tokyo", "+81"),
        ("Lisbon", "Portugal", "Lisbon", "Europe/Lisbon", "+351"),
    ];
    table_of_rows(
        "regions.csv",
        R.len() * 3,
        rng,
        vec![
            ("region_id", vec![], g(|_, i| Some((i + 1).to_string()))),
            (
                "region_name",
                vec![],
                g(|_, i| Some(R[i % R.len()].0.to_string())),
            ),
            (
                "country",
                vec![],
                g(|_, i| Some(R[i % R.len()].1.to_string())),
            ),
            ("city", vec![], g(|_, i| Some(R[i % R.len()].2.to_string()))),
            (
                "timezone",
                vec![],
                g(|_, i| Some(R[i % R.len()].3.to_string())),
            ),
            (
                "dialing_code",
                vec![],
                g(|_, i| Some(R[i % R.len()].4.to_string())),
            ),
        ],
    )
}

/// The company's branches: company contact data, and the one person in it, the manager.
fn branches(rng: &mut Rng) -> Table {
    table_of_rows(
        "branches.csv",
        25,
        rng,
        vec![
            ("branch_id", vec![], g(|_, i| Some((i + 1).to_string()))),
            (
                "branch_name",
                vec![],
                some(|r| {
                    format!(
                        "{} {}",
                        r.pick(US_CITIES).0,
                        r.pick(&["Downtown", "Airport", "Mall", "North"])
                    )
                }),
            ),
            ("street", vec![], some(street)),
            ("city", vec![], some(|r| r.pick(US_CITIES).0.to_string())),
            (
                "postcode",
                vec![],
                some(|r| {
                    let p = r.pick(US_CITIES).2;
                    us_zip(r, p)
                }),
            ),
            ("country", vec![], some(|_| "USA".to_string())),
            ("phone", vec![], some(nanp)),
            (
                "email",
                vec![],
                g(|r, i| {
                    Some(format!(
                        "{}{i}@rentals.example.com",
                        r.pick(&["info", "branch", "desk"])
                    ))
                }),
            ),
            (
                "manager_id",
                vec!["user.unique_id"],
                some(|r| r.range(1, 40).to_string()),
            ),
        ],
    )
}

fn shippers(rng: &mut Rng) -> Table {
    table_of_rows(
        "shippers.csv",
        6,
        rng,
        vec![
            ("ShipperID", vec![], g(|_, i| Some((i + 1).to_string()))),
            (
                "CompanyName",
                vec![],
                g(|_, i| {
                    Some(
                        [
                            "Speedy Express",
                            "United Package",
                            "Federal Shipping",
                            "Kwik Logistics LLC",
                            "Blauer Fisch GmbH",
                            "Tulip Trading B.V.",
                        ][i]
                            .to_string(),
                    )
                }),
            ),
            ("Phone", vec![], some(nanp)),
        ],
    )
}

/// Named storms: the names are people's first names, the table is about weather.
fn storms(rng: &mut Rng) -> Table {
    const NAMES: &[&str] = &[
        "Amy", "Bob", "Caroline", "Doris", "Eloise", "Faith", "Gladys", "Hallie", "Katrina",
        "Sandy", "Harvey", "Irma", "Maria", "Ida", "Ian", "Otto",
    ];
    table_of_rows(
        "storms.csv",
        ROWS,
        rng,
        vec![
            ("name", vec![], some(|r| r.pick(NAMES).to_string())),
            ("year", vec![], some(|r| r.range(1975, 2024).to_string())),
            ("month", vec![], some(|r| r.range(6, 11).to_string())),
            ("day", vec![], some(|r| r.range(1, 30).to_string())),
            (
                "hour",
                vec![],
                some(|r| r.pick(&["0", "6", "12", "18"]).to_string()),
            ),
            (
                "lat",
                vec![],
                some(|r| format!("{}.{}", r.range(10, 45), r.below(10))),
            ),
            (
                "long",
                vec![],
                some(|r| format!("-{}.{}", r.range(30, 95), r.below(10))),
            ),
            (
                "status",
                vec![],
                some(|r| {
                    r.pick(&["tropical depression", "tropical storm", "hurricane"])
                        .to_string()
                }),
            ),
            (
                "category",
                vec![],
                g(|r, _| r.chance(0.4).then(|| r.range(1, 5).to_string())),
            ),
            ("wind", vec![], some(|r| (5 * r.range(5, 32)).to_string())),
            ("pressure", vec![], some(|r| r.range(900, 1015).to_string())),
        ],
    )
}

fn currencies(rng: &mut Rng) -> Table {
    const C: &[(&str, &str, &str, &str, &str)] = &[
        ("EUR", "Euro", "€", "Germany", "2"),
        ("USD", "US Dollar", "$", "United States", "2"),
        ("GBP", "Pound Sterling", "£", "United Kingdom", "2"),
        ("JPY", "Yen", "¥", "Japan", "0"),
        ("PLN", "Zloty", "zł", "Poland", "2"),
        ("CHF", "Swiss Franc", "Fr.", "Switzerland", "2"),
        ("SEK", "Swedish Krona", "kr", "Sweden", "2"),
        ("KWD", "Kuwaiti Dinar", "KD", "Kuwait", "3"),
    ];
    table_of_rows(
        "currencies.csv",
        C.len(),
        rng,
        vec![
            ("code", vec![], g(|_, i| Some(C[i].0.to_string()))),
            ("name", vec![], g(|_, i| Some(C[i].1.to_string()))),
            ("symbol", vec![], g(|_, i| Some(C[i].2.to_string()))),
            ("country", vec![], g(|_, i| Some(C[i].3.to_string()))),
            ("minor_unit", vec![], g(|_, i| Some(C[i].4.to_string()))),
        ],
    )
}

/// Suppliers with their contact persons: a table of contact persons, so their organisation
/// contact data is personal data.
fn suppliers(rng: &mut Rng) -> Table {
    table_of_rows(
        "suppliers.csv",
        30,
        rng,
        vec![
            ("SupplierID", vec![], g(|_, i| Some((i + 1).to_string()))),
            (
                "CompanyName",
                vec!["user.contact.organization"],
                some(|r| r.pick(COMPANIES).to_string()),
            ),
            (
                "ContactName",
                vec!["user.name"],
                some(|r| {
                    let (f, l) = us_name(r);
                    format!("{f} {l}")
                }),
            ),
            (
                "ContactTitle",
                vec!["user.job_title"],
                some(|r| {
                    r.pick(&[
                        "Purchasing Manager",
                        "Sales Representative",
                        "Export Administrator",
                        "Marketing Manager",
                        "Order Administrator",
                    ])
                    .to_string()
                }),
            ),
            ("Address", vec!["user.contact.address.street"], some(street)),
            (
                "City",
                vec!["user.contact.address.city"],
                some(|r| r.pick(US_CITIES).0.to_string()),
            ),
            (
                "Region",
                vec!["user.contact.address.state"],
                g(|r, _| (!r.chance(0.3)).then(|| r.pick(US_CITIES).1.to_string())),
            ),
            (
                "PostalCode",
                vec!["user.contact.address.postal_code"],
                some(|r| {
                    let p = r.pick(US_CITIES).2;
                    us_zip(r, p)
                }),
            ),
            (
                "Country",
                vec!["user.contact.address.country"],
                some(|r| r.pick(&["USA", "Canada"]).to_string()),
            ),
            ("Phone", vec!["user.contact.phone_number"], some(nanp)),
            (
                "Fax",
                vec!["user.contact.fax_number"],
                g(|r, _| r.chance(0.5).then(|| nanp(r))),
            ),
        ],
    )
}

fn orders(rng: &mut Rng) -> Table {
    table_of_rows(
        "orders.csv",
        ROWS,
        rng,
        vec![
            ("OrderID", vec![], g(|_, i| Some((10248 + i).to_string()))),
            (
                "CustomerID",
                vec!["user.unique_id"],
                some(|r| r.range(1, ROWS as u64).to_string()),
            ),
            (
                "EmployeeID",
                vec!["user.unique_id"],
                some(|r| r.range(1, 40).to_string()),
            ),
            (
                "OrderDate",
                vec![],
                some(|r| format!("{}/{}/2025", r.range(1, 12), r.range(1, 28))),
            ),
            (
                "order_no",
                vec![],
                some(|r| failing(r, Validator::PaymentCard, |r| format!("20{}", r.digits(14)))),
            ),
            ("ean", vec![], some(|r| format!("400{}", r.digits(10)))),
            ("ShipVia", vec![], some(|r| r.range(1, 3).to_string())),
            (
                "Freight",
                vec![],
                some(|r| format!("{}.{:02}", r.range(1, 900), r.below(100))),
            ),
            (
                "gateway_mac",
                vec![],
                some(|r| {
                    (0..6)
                        .map(|_| format!("{:02x}", r.below(256)))
                        .collect::<Vec<_>>()
                        .join(":")
                }),
            ),
            (
                "status",
                vec![],
                some(|r| r.pick(&["shipped", "pending", "cancelled"]).to_string()),
            ),
        ],
    )
}

const MEMOS: &[&str] = &[
    "Monthly subscription renewal",
    "Refund for damaged item, see ticket",
    "Invoice paid by bank transfer",
    "Partial payment, balance due next month",
    "Gift card top-up at the counter",
];

fn payments(rng: &mut Rng) -> Table {
    table_of_rows(
        "payments.csv",
        ROWS,
        rng,
        vec![
            (
                "payment_id",
                vec![],
                g(|_, i| Some((16050 + i).to_string())),
            ),
            (
                "customer_id",
                vec!["user.unique_id"],
                some(|r| r.range(1, ROWS as u64).to_string()),
            ),
            (
                "card_number",
                vec!["user.financial.credit_card"],
                some(failing_card),
            ),
            (
                "iban",
                vec!["user.financial.bank_account"],
                some(|r| {
                    if r.chance(0.5) {
                        iban(r, "DE", 18)
                    } else {
                        failing(r, Validator::Iban, |r| format!("DE{}", r.digits(20)))
                    }
                }),
            ),
            (
                "amount",
                vec![],
                some(|r| format!("{}.{:02}", r.range(1, 500), r.below(100))),
            ),
            (
                "currency",
                vec![],
                some(|r| r.pick(&["EUR", "USD", "GBP"]).to_string()),
            ),
            (
                "memo",
                vec!["user.financial.bank_account"],
                some(|r| {
                    if r.chance(0.08) {
                        let i = iban(r, "FR", 23);
                        format!("Refund sent to {i} as requested by phone")
                    } else {
                        r.pick(MEMOS).to_string()
                    }
                }),
            ),
            ("paid_at", vec![], some(timestamp)),
        ],
    )
}

fn etudiants(rng: &mut Rng) -> Table {
    table_of_rows(
        "etudiants.csv",
        ROWS,
        rng,
        vec![
            (
                "numero_etudiant",
                vec!["user.unique_id"],
                g(|_, i| Some(format!("{}", 21_900_000 + i))),
            ),
            (
                "nom",
                vec!["user.name.last"],
                some(|r| {
                    r.pick(&[
                        "Dupont", "Martin", "Bernard", "Lefèvre", "N'Diaye", "Moreau",
                    ])
                    .to_string()
                }),
            ),
            (
                "prenom",
                vec!["user.name.first"],
                some(|r| {
                    r.pick(&["Claire", "Théo", "Inès", "Lucas", "Manon", "Yanis"])
                        .to_string()
                }),
            ),
            (
                "date_de_naissance",
                vec!["user.demographic.date_of_birth"],
                some(|r| {
                    format!(
                        "{:02}/{:02}/{}",
                        r.range(1, 28),
                        r.range(1, 12),
                        r.range(1995, 2007)
                    )
                }),
            ),
            (
                "sexe",
                vec!["user.demographic.gender"],
                some(|r| r.pick(&["M", "F"]).to_string()),
            ),
            (
                "adresse",
                vec!["user.contact.address.street"],
                some(|r| {
                    format!(
                        "{} {} {}",
                        r.range(1, 150),
                        r.pick(&["rue", "avenue", "boulevard"]),
                        r.pick(&["de la Paix", "Victor Hugo", "Jean Jaurès", "des Lilas"])
                    )
                }),
            ),
            (
                "code_postal",
                vec!["user.contact.address.postal_code"],
                some(|r| format!("{:05}", r.range(1000, 95999))),
            ),
            (
                "ville",
                vec!["user.contact.address.city"],
                some(|r| {
                    r.pick(&["Paris", "Lyon", "Lille", "Nantes", "Toulouse"])
                        .to_string()
                }),
            ),
            (
                "telephone",
                vec!["user.contact.phone_number"],
                some(|r| {
                    format!(
                        "0{} {} {} {} {}",
                        r.range(6, 7),
                        r.digits(2),
                        r.digits(2),
                        r.digits(2),
                        r.digits(2)
                    )
                }),
            ),
            ("courriel", vec!["user.contact.email"], some(email)),
            (
                "moyenne",
                vec![],
                some(|r| format!("{},{}", r.range(6, 19), r.below(10))),
            ),
        ],
    )
}

fn klanten(rng: &mut Rng) -> Table {
    table_of_rows(
        "klanten.csv",
        ROWS,
        rng,
        vec![
            (
                "klantnummer",
                vec!["user.unique_id"],
                g(|_, i| Some(format!("{}", 500_000 + i))),
            ),
            (
                "voornaam",
                vec!["user.name.first"],
                some(|r| {
                    r.pick(&["Sanne", "Daan", "Fleur", "Bram", "Lotte", "Sem"])
                        .to_string()
                }),
            ),
            (
                "achternaam",
                vec!["user.name.last"],
                some(|r| {
                    r.pick(&["de Jong", "Jansen", "van den Berg", "Bakker", "Visser"])
                        .to_string()
                }),
            ),
            (
                "geboortejaar",
                vec!["user.demographic.date_of_birth"],
                some(|r| r.range(1940, 2006).to_string()),
            ),
            (
                "postcode",
                vec!["user.contact.address.postal_code"],
                some(|r| {
                    format!(
                        "{} {}{}",
                        r.range(1011, 9999),
                        r.pick(LETTERS),
                        r.pick(LETTERS)
                    )
                }),
            ),
            (
                "woonplaats",
                vec!["user.contact.address.city"],
                some(|r| {
                    r.pick(&["Utrecht", "Groningen", "Zwolle", "Delft", "Haarlem"])
                        .to_string()
                }),
            ),
            (
                "telefoon",
                vec!["user.contact.phone_number"],
                some(|r| format!("06-{}", r.digits(8))),
            ),
            ("email", vec!["user.contact.email"], some(email)),
            (
                "pasfoto",
                vec!["user.content.self_image"],
                g(|_, i| Some(format!("fotos/klant_{:05}.jpg", 500_000 + i))),
            ),
        ],
    )
}

fn pracownicy(rng: &mut Rng) -> Table {
    table_of_rows(
        "pracownicy.csv",
        ROWS,
        rng,
        vec![
            (
                "numer_pracownika",
                vec!["user.unique_id"],
                g(|_, i| Some(format!("{}", 3000 + i))),
            ),
            (
                "imie",
                vec!["user.name.first"],
                some(|r| {
                    r.pick(&["Zofia", "Jakub", "Łucja", "Mikołaj", "Wiktoria"])
                        .to_string()
                }),
            ),
            (
                "nazwisko",
                vec!["user.name.last"],
                some(|r| {
                    r.pick(&["Nowak", "Wiśniewska", "Wójcik", "Kamiński", "Lewandowska"])
                        .to_string()
                }),
            ),
            (
                "pesel",
                vec!["user.government_id.national_identification_number"],
                some(pesel),
            ),
            (
                "kod_pocztowy",
                vec!["user.contact.address.postal_code"],
                some(|r| format!("{:02}-{:03}", r.range(0, 99), r.below(1000))),
            ),
            (
                "miasto",
                vec!["user.contact.address.city"],
                some(|r| {
                    r.pick(&["Warszawa", "Kraków", "Gdańsk", "Poznań", "Łódź"])
                        .to_string()
                }),
            ),
            (
                "wyznanie",
                vec!["user.demographic.religious_belief"],
                some(|r| {
                    r.pick(&[
                        "rzymskokatolickie",
                        "prawosławne",
                        "ewangelickie",
                        "brak",
                        "świadkowie Jehowy",
                    ])
                    .to_string()
                }),
            ),
            (
                "stanowisko",
                vec!["user.job_title"],
                some(|r| {
                    r.pick(&["księgowa", "kierownik zmiany", "magazynier", "programista"])
                        .to_string()
                }),
            ),
            (
                "wynagrodzenie",
                vec!["user.financial"],
                some(|r| format!("{},{:02}", r.range(4300, 18000), r.below(100))),
            ),
            (
                "telefon",
                vec!["user.contact.phone_number"],
                some(|r| {
                    format!(
                        "{}{} {} {}",
                        r.range(5, 8),
                        r.digits(2),
                        r.digits(3),
                        r.digits(3)
                    )
                }),
            ),
            (
                "email",
                vec!["user.contact.email"],
                g(|r, i| {
                    let f = r.pick(&["z", "j", "l", "m", "w"]);
                    let l = r.pick(&["nowak", "wisniewska", "wojcik", "kaminski", "lewandowska"]);
                    Some(format!("{f}.{l}{i}"))
                }),
            ),
        ],
    )
}

fn clientes(rng: &mut Rng) -> Table {
    table_of_rows(
        "clientes.csv",
        ROWS,
        rng,
        vec![
            (
                "id_cliente",
                vec!["user.unique_id"],
                g(|_, i| Some(format!("{}", 70_000 + i))),
            ),
            (
                "nome",
                vec!["user.name.first"],
                some(|r| {
                    r.pick(&["João", "Inês", "Tiago", "Beatriz", "Rui"])
                        .to_string()
                }),
            ),
            (
                "apelido",
                vec!["user.name.last"],
                some(|r| {
                    r.pick(&["Silva", "Santos", "Ferreira", "Pereira", "Gonçalves"])
                        .to_string()
                }),
            ),
            (
                "data_nascimento",
                vec!["user.demographic.date_of_birth"],
                some(|r| {
                    format!(
                        "{}-{:02}-{:02}",
                        r.range(1940, 2006),
                        r.range(1, 12),
                        r.range(1, 28)
                    )
                }),
            ),
            (
                "codigo_postal",
                vec!["user.contact.address.postal_code"],
                some(|r| format!("{}-{:03}", r.range(1000, 9999), r.below(1000))),
            ),
            (
                "localidade",
                vec!["user.contact.address.city"],
                some(|r| {
                    r.pick(&["Lisboa", "Porto", "Braga", "Coimbra", "Faro"])
                        .to_string()
                }),
            ),
            (
                "telemovel",
                vec!["user.contact.phone_number"],
                some(|r| format!("9{} {} {}", r.range(1, 6), r.digits(3), r.digits(3))),
            ),
            ("email", vec!["user.contact.email"], some(email)),
        ],
    )
}

fn users_apac(rng: &mut Rng) -> Table {
    table_of_rows(
        "users_apac.csv",
        ROWS,
        rng,
        vec![
            ("user_id", vec!["user.unique_id"], some(uuid)),
            (
                "name",
                vec!["user.name"],
                some(|r| {
                    r.pick(&[
                        "王伟",
                        "李娜",
                        "佐藤 健",
                        "鈴木 花子",
                        "김민준",
                        "이서연",
                        "Nguyễn Văn An",
                        "Tan Wei Ling",
                    ])
                    .to_string()
                }),
            ),
            (
                "email",
                vec!["user.contact.email"],
                some(|r| {
                    let local =
                        r.pick(&["王伟", "sato.ken", "hanako", "민준", "an.nguyen", "weiling"]);
                    let domain = r.pick(&[
                        "例子.中国",
                        "example.jp",
                        "메일.한국",
                        "bücher.example",
                        "example.sg",
                    ]);
                    format!("{local}{}@{domain}", r.below(100))
                }),
            ),
            (
                "phone",
                vec!["user.contact.phone_number"],
                some(|r| match r.below(4) {
                    0 => format!("+81 90-{}-{}", r.digits(4), r.digits(4)),
                    1 => format!("+86 138 {} {}", r.digits(4), r.digits(4)),
                    2 => format!("+82 10-{}-{}", r.digits(4), r.digits(4)),
                    _ => format!("+65 {} {}", r.range(8000, 9999), r.digits(4)),
                }),
            ),
            (
                "country",
                vec!["user.contact.address.country"],
                some(|r| r.pick(&["JP", "CN", "KR", "SG", "VN"]).to_string()),
            ),
            ("signup_at", vec![], some(timestamp)),
        ],
    )
}

fn subscribers_uk(rng: &mut Rng) -> Table {
    table_of_rows(
        "subscribers_uk.csv",
        ROWS,
        rng,
        vec![
            (
                "subscriber_id",
                vec!["user.unique_id"],
                g(|_, i| Some(format!("SUB{:06}", i + 1))),
            ),
            (
                "title",
                vec!["user.demographic.gender"],
                some(|r| r.pick(&["Mr", "Mrs", "Ms", "Miss", "Dr"]).to_string()),
            ),
            (
                "forename",
                vec!["user.name.first"],
                some(|r| {
                    r.pick(&["Oliver", "Amelia", "Harry", "Isla", "George"])
                        .to_string()
                }),
            ),
            (
                "surname",
                vec!["user.name.last"],
                some(|r| {
                    r.pick(&["Smith", "Jones", "Taylor", "Brown", "Evans"])
                        .to_string()
                }),
            ),
            (
                "postcode",
                vec!["user.contact.address.postal_code"],
                some(uk_postcode),
            ),
            (
                "county",
                vec!["user.contact.address.state"],
                some(|r| {
                    r.pick(&["Kent", "Essex", "Surrey", "Devon", "Lancashire"])
                        .to_string()
                }),
            ),
            (
                "mobile",
                vec!["user.contact.phone_number"],
                some(|r| format!("07700 900{}", r.digits(3))),
            ),
            ("email", vec!["user.contact.email"], some(email)),
            (
                "ni_number",
                vec!["user.government_id.national_identification_number"],
                some(nino),
            ),
            (
                "date_of_birth",
                vec!["user.demographic.date_of_birth"],
                some(|r| {
                    format!(
                        "{:02}/{:02}/{}",
                        r.range(1, 28),
                        r.range(1, 12),
                        r.range(1940, 2006)
                    )
                }),
            ),
        ],
    )
}

fn products(rng: &mut Rng) -> Table {
    table_of_rows(
        "products.csv",
        60,
        rng,
        vec![
            ("product_id", vec![], g(|_, i| Some((i + 1).to_string()))),
            (
                "product_name",
                vec![],
                some(|r| {
                    r.pick(&["Chai", "Chang", "Aniseed Syrup", "Ikura", "Tofu", "Pavlova"])
                        .to_string()
                }),
            ),
            (
                "category",
                vec![],
                some(|r| {
                    r.pick(&["Beverages", "Condiments", "Seafood", "Produce"])
                        .to_string()
                }),
            ),
            (
                "unit_price",
                vec![],
                some(|r| format!("{}.{:02}", r.range(2, 260), r.below(100))),
            ),
            ("sku", vec![], g(|_, i| Some(format!("NW-{:04}", i + 1)))),
            ("ean", vec![], some(|r| format!("501{}", r.digits(10)))),
            (
                "photo",
                vec![],
                g(|r, _| {
                    Some(if r.chance(0.5) {
                        jpeg_hex(r)
                    } else {
                        format!("images/products/{}.jpg", r.range(1, 999))
                    })
                }),
            ),
        ],
    )
}

/// Every table of the corpus, generated from one seed.
pub fn tables(rng: &mut Rng) -> Vec<Table> {
    vec![
        customers(rng),
        employees(rng),
        staff(rng),
        patients(rng),
        passengers(rng),
        mitglieder(rng),
        regions(rng),
        branches(rng),
        shippers(rng),
        storms(rng),
        currencies(rng),
        suppliers(rng),
        orders(rng),
        payments(rng),
        etudiants(rng),
        klanten(rng),
        pracownicy(rng),
        clientes(rng),
        users_apac(rng),
        subscribers_uk(rng),
        products(rng),
    ]
}

/// Writes the corpus into `data/` of the project, as CSV or as Parquet, and gives its labels.
fn write(project: &Project, parquet: bool) -> Labels {
    let mut labels = Labels::new();
    for t in tables(&mut Rng::new(20261202)) {
        let file = if parquet {
            t.file.replace(".csv", ".parquet")
        } else {
            t.file.to_string()
        };
        let bytes = if parquet {
            t.parquet()
        } else {
            t.csv(',', false, false)
        };
        project.write(&format!("data/{file}"), bytes);
        for (c, l) in &t.columns {
            labels.insert((file.clone(), c.to_string()), l.clone());
        }
    }
    labels
}

#[test]
fn the_corpus_has_the_promised_size() {
    let tables = tables(&mut Rng::new(20261202));
    let columns: usize = tables.iter().map(|t| t.columns.len()).sum();
    let lookups = tables
        .iter()
        .filter(|t| t.columns.iter().all(|c| c.1.is_empty()))
        .count();
    assert!(tables.len() >= 12, "{} tables", tables.len());
    assert!(columns >= 200, "{columns} columns");
    assert!(lookups >= 4, "{lookups} tables without personal data");
}

#[test]
fn real_world_shapes_meet_precision_and_recall_in_csv() {
    let project = Project::new();
    let labels = write(&project, false);
    assert_score(
        "real-world shapes, CSV",
        &score(&project, &labels),
        0.95,
        0.95,
    );
}

#[test]
fn real_world_shapes_meet_precision_and_recall_in_parquet() {
    let project = Project::new();
    let labels = write(&project, true);
    assert_score(
        "real-world shapes, Parquet",
        &score(&project, &labels),
        0.95,
        0.95,
    );
}
