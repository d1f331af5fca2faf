"""The glossary: the one set of words every output uses for what surveyor found.

A telco engineer reading "no signal" where a phone had 2G will dispute the whole report, and a
district office that reads "Mati" in one file and "tidak ada sinyal" in another cannot tell whether
they mean the same place. So the words live here once, in both languages, with their meaning
(docs/glossary.md says the same, for readers; a test keeps the two in step), and the CLI, the
interactive and printed maps, the report, KML and the sheets take them from here.

Indonesian practice (Diskominfo's blank-spot lists, BAKTI's proposals): *blank spot* means no
usable 4G from any operator; *lemah sinyal* is weak signal. The per-operator classes of a cell
follow from the coverage rules in docs/method.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from surveyor.i18n import LANGUAGES


@dataclass(frozen=True)
class Term:
    """One word of the glossary: its short label and its meaning, in Indonesian and English."""

    key: str
    id: str
    en: str
    meaning_id: str
    meaning_en: str

    def label(self, lang: str) -> str:
        return self.id if _lang(lang) == "id" else self.en

    def meaning(self, lang: str) -> str:
        return self.meaning_id if _lang(lang) == "id" else self.meaning_en


def _lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; use one of {LANGUAGES}")
    return lang


TERMS: tuple[Term, ...] = (
    # -- a cell (a place of about 70 m), per operator: the coverage classes -----------------------
    Term("dead", "Tidak ada 4G layak", "No usable 4G",
         "Untuk operator ini, dengan keyakinan 95%, lebih dari separuh pemeriksaan tidak mendapat 4G "
         "yang bisa dipakai: tidak ada sinyal, hanya 2G/3G, atau sinyal 4G di bawah ambang.",
         "For this operator, with 95% confidence more than half of the checks found no usable 4G: no "
         "signal, only 2G/3G, or 4G signal below the threshold."),
    Term("marginal", "Lemah sinyal", "Weak signal",
         "Pemeriksaan cukup, tetapi 4G operator ini kadang ada kadang tidak, atau lemah: tidak jelas "
         "layak, tidak jelas hilang.",
         "Enough checks, but this operator's 4G is sometimes there and sometimes not, or weak: neither "
         "clearly usable nor clearly missing."),
    Term("covered", "Ada 4G layak", "Usable 4G",
         "Untuk operator ini, dengan keyakinan 95%, kurang dari 1 dari 5 pemeriksaan gagal mendapat 4G "
         "yang bisa dipakai.",
         "For this operator, with 95% confidence fewer than 1 in 5 checks failed to find usable 4G."),
    Term("insufficient", "Bukti belum cukup", "Not enough evidence yet",
         "Sudah ada pengukuran, tetapi belum cukup untuk menilai: perlu lebih banyak pemeriksaan, dari "
         "kunjungan lain yang berjarak beberapa jam.",
         "Measured, but not enough to judge yet: more checks are needed, from another visit some hours "
         "apart."),
    Term("not_surveyed", "Belum disurvei", "Not surveyed",
         "Belum ada yang mengukur di sini. Ini tidak berarti apa-apa tentang sinyal.",
         "Nobody has measured here yet. This says nothing about the signal."),
    Term("predicted", "Perkiraan (bukan bukti)", "Predicted (not evidence)",
         "Dihitung dari medan dan menara yang diketahui untuk tempat yang belum dinilai dari "
         "pengukuran; bukan bukti, dan tidak pernah menggantikan hasil pengukuran.",
         "Computed from the terrain and the known towers for a place not judged from measurements; "
         "not evidence, and never in place of what was measured."),
    # -- a place, across the configured operators -------------------------------------------------
    Term("blank_spot", "Blank spot", "Blank spot",
         "Tidak ada 4G layak dari operator mana pun yang disurvei.",
         "No usable 4G from any of the operators surveyed."),
    Term("weak_area", "Lemah sinyal", "Weak signal",
         "Satu operator tidak memberi 4G layak (atau lemah) di tempat yang dilayani operator lain.",
         "One operator gives no usable (or only weak) 4G where another operator serves."),
    Term("dead_zone", "Zona tanpa 4G layak", "Dead zone",
         "Sel-sel bersebelahan yang tidak ada 4G layak untuk satu operator, dengan kode tetap seperti "
         "DZ-TSEL-01.",
         "Adjacent cells with no usable 4G for one operator, with a lasting code such as DZ-TSEL-01."),
    # -- why a check found no usable 4G -----------------------------------------------------------
    Term("no_service", "Tidak ada sinyal sama sekali", "No signal at all",
         "Ponsel tidak mendapat jaringan apa pun (juga bukan 2G/3G).",
         "The phone found no network at all (not even 2G/3G)."),
    Term("2g3g_only", "Hanya 2G/3G", "Only 2G/3G",
         "Ada jaringan, tetapi hanya 2G atau 3G: telepon dan SMS, tidak cukup untuk WhatsApp atau "
         "Instagram.",
         "A network, but only 2G or 3G: calls and SMS, not enough for WhatsApp or Instagram."),
    Term("weak_signal", "4G terlalu lemah", "4G too weak",
         "Ada 4G, tetapi sinyalnya (RSRP) di bawah ambang yang bisa dipakai.",
         "4G, but its signal (RSRP) was below the usable threshold."),
    Term("manual_no_signal", "Sinyal 0-1 bar (dicatat relawan)", "0-1 bars (noted by a volunteer)",
         "Relawan tanpa ponsel berpengukur mencatat tidak ada sinyal atau hanya satu bar.",
         "A volunteer without an instrumented phone noted no signal or one bar."),
    # -- who is affected: public facilities inside a dead zone (basemap kinds) --------------------
    Term("school", "Sekolah", "School",
         "Sekolah atau madrasah (OpenStreetMap amenity=school dan sejenisnya).",
         "A school or madrasah (OpenStreetMap amenity=school and the like)."),
    Term("clinic", "Fasilitas kesehatan", "Health facility",
         "Puskesmas, pustu, klinik, rumah sakit, dokter atau bidan.",
         "A community health centre (puskesmas), clinic, hospital, doctor or midwife."),
    Term("worship", "Tempat ibadah", "Place of worship",
         "Masjid, musala, gereja, pura atau wihara.",
         "A mosque, prayer room, church or temple."),
    Term("village_office", "Kantor desa", "Village office",
         "Kantor kepala desa atau balai desa.",
         "The village head's office or village hall."),
)

BY_KEY: dict[str, Term] = {t.key: t for t in TERMS}

# The per-operator classes of a cell, in the order legends list them.
CLASS_KEYS = ("dead", "marginal", "covered", "insufficient", "not_surveyed")
# Why a sample is negative (the analysis's reason codes), in the order reports list them.
REASON_KEYS = ("no_service", "2g3g_only", "weak_signal", "manual_no_signal")
# The public facilities a dead zone may hold (the basemap's ``facilities.kind``).
FACILITY_KEYS = ("school", "clinic", "worship", "village_office")


def term(key: str) -> Term:
    """The glossary entry of ``key`` (KeyError for a word the glossary does not have)."""
    return BY_KEY[key]


def label(key: str, lang: str) -> str:
    """The short word for ``key`` in ``lang``."""
    return BY_KEY[key].label(lang)


def meaning(key: str, lang: str) -> str:
    """What ``key`` means, in ``lang``."""
    return BY_KEY[key].meaning(lang)
