from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hqnn_lightning.data.taxonomy import (
    BODY_STYLE_WORDS,
    MULTI_WORD_MAKES,
    CarLabel,
    canonical_tokens,
    close_matches,
    match_taxonomies,
    parse_stanford_name,
    parse_vmmrdb_name,
)

CARS_META = Path(__file__).resolve().parents[3] / "shared/data/stanford_cars_devkit/cars_meta.mat"

SAME_CAR = [
    ("AM General Hummer SUV 2000", "am_general_hummer_2000"),
    ("Acura RL Sedan 2012", "acura_rl_2012"),
    ("Aston Martin V8 Vantage Convertible 2012", "aston_martin_v8 vantage_2012"),
    ("Mercedes-Benz C-Class Sedan 2012", "mercedes_benz_c_class_2012"),
    ("Land Rover Range Rover SUV 2012", "land_rover_range rover_2012"),
    ("Rolls-Royce Phantom Sedan 2012", "rolls_royce_phantom_2012"),
    ("Ford F-150 Regular Cab 2012", "ford_f150_2012"),
    ("Chevrolet Silverado 1500 Extended Cab 2012", "chevrolet_silverado_1500_2012"),
    ("Chevrolet Silverado 1500 Regular Cab 2012", "chevrolet_silverado 1500_2012"),
    ("Dodge Ram Pickup 3500 Crew Cab 2010", "dodge_ram_3500_2010"),
    ("BMW 1 Series Convertible 2012", "bmw_1 series_2012"),
    ("GMC Savana Van 2012", "gmc_savana_2012"),
    ("Volvo 240 Sedan 1993", "volvo_240_1993"),
]

STANFORD = {
    "Acura Integra Type R 2001": ("acura", "integra_type_r", 2001),
    "Audi S6 Sedan 2011": ("audi", "s6", 2011),
    "Audi RS 4 Convertible 2008": ("audi", "rs4", 2008),
    "Chevrolet Corvette ZR1 2012": ("chevrolet", "corvette_zr1", 2012),
    "Chevrolet Silverado 2500HD Regular Cab 2012": ("chevrolet", "silverado_2500hd", 2012),
    "Chevrolet Express Cargo Van 2007": ("chevrolet", "express", 2007),
    "Chevrolet Corvette Ron Fellows Edition Z06 2007": (
        "chevrolet",
        "corvette_ron_fellows_edition_z06",
        2007,
    ),
    "Chevrolet Cobalt SS 2010": ("chevrolet", "cobalt_ss", 2010),
    "Dodge Caliber Wagon 2012": ("dodge", "caliber", 2012),
    "Dodge Charger SRT-8 2009": ("dodge", "charger_srt8", 2009),
    "Eagle Talon Hatchback 1998": ("eagle", "talon", 1998),
    "Ford GT Coupe 2006": ("ford", "gt", 2006),
    "Ford E-Series Wagon Van 2012": ("ford", "e_series", 2012),
    "Ford Ranger SuperCab 2011": ("ford", "ranger", 2011),
    "Land Rover LR2 SUV 2012": ("land_rover", "lr2", 2012),
    "Mercedes-Benz 300-Class Convertible 1993": ("mercedes_benz", "300_class", 1993),
    "Mercedes-Benz Sprinter Van 2012": ("mercedes_benz", "sprinter", 2012),
    "Rolls-Royce Phantom Drophead Coupe Convertible 2012": (
        "rolls_royce",
        "phantom_drophead",
        2012,
    ),
    "Ram C/V Cargo Van Minivan 2012": ("ram", "c_v", 2012),
    "Bugatti Veyron 16.4 Coupe 2009": ("bugatti", "veyron_16_4", 2009),
    "Bentley Continental Supersports Conv. Convertible 2012": (
        "bentley",
        "continental_supersports",
        2012,
    ),
    "smart fortwo Convertible 2012": ("smart", "fortwo", 2012),
    "HUMMER H3T Crew Cab 2010": ("hummer", "h3t", 2010),
    "HUMMER H2 SUT Crew Cab 2009": ("hummer", "h2_sut", 2009),
    "McLaren MP4-12C Coupe 2012": ("mclaren", "mp4_12c", 2012),
    "Chrysler Town and Country Minivan 2012": ("chrysler", "town_and_country", 2012),
    "Nissan NV Passenger Van 2012": ("nissan", "nv", 2012),
    "Infiniti G Coupe IPL 2012": ("infiniti", "g_ipl", 2012),
    "Lamborghini Aventador Coupe LP700-4 2012": ("lamborghini", "aventador_lp700_4", 2012),
    "Toyota 4Runner SUV 2012": ("toyota", "4runner", 2012),
    "Cadillac Escalade EXT Crew Cab 2007": ("cadillac", "escalade_ext", 2007),
}

VMMRDB = {
    "alfa_romeo_spider_1991": ("alfa_romeo", "spider", 1991),
    "honda_civic ex_2005": ("honda", "civic_ex", 2005),
    "ford_f 150_2012": ("ford", "f150", 2012),
    "ford_f_150_2012": ("ford", "f150", 2012),
    "ford_club wagon_1997": ("ford", "club_wagon", 1997),
    "toyota_van_1987": ("toyota", "van", 1987),
}


class TestCanonicalTokens:
    def test_separators_and_joins(self):
        assert canonical_tokens("Mercedes-Benz C-Class") == ["mercedes", "benz", "c", "class"]
        assert canonical_tokens("land_rover_range rover") == ["land", "rover", "range", "rover"]
        assert canonical_tokens("Ford F-150 SRT-8") == ["ford", "f150", "srt8"]
        assert canonical_tokens("C/V 16.4 Conv.") == ["c", "v", "16", "4", "conv"]
        assert canonical_tokens("MP4-12C 300-Class") == ["mp4", "12c", "300", "class"]

    def test_constants_are_canonical(self):
        assert all(canonical_tokens(make) == make.split("_") for make in MULTI_WORD_MAKES)
        assert all(canonical_tokens(word) == [word] for word in BODY_STYLE_WORDS)


class TestParse:
    @pytest.mark.parametrize(("stanford", "vmmrdb"), SAME_CAR)
    def test_same_car_same_label(self, stanford, vmmrdb):
        assert parse_stanford_name(stanford) == parse_vmmrdb_name(vmmrdb)

    @pytest.mark.parametrize(("name", "label"), STANFORD.items())
    def test_stanford(self, name, label):
        assert parse_stanford_name(name) == CarLabel(*label)

    @pytest.mark.parametrize(("folder", "label"), VMMRDB.items())
    def test_vmmrdb(self, folder, label):
        assert parse_vmmrdb_name(folder) == CarLabel(*label)

    def test_trims_keep_classes_apart(self):
        drophead = parse_stanford_name("Rolls-Royce Phantom Drophead Coupe Convertible 2012")
        assert drophead != parse_vmmrdb_name("rolls_royce_phantom_2012")

    def test_key_and_display(self):
        label = parse_stanford_name("Mercedes-Benz C-Class Sedan 2012")
        assert label == CarLabel("mercedes_benz", "c_class", 2012)
        assert label.key == "mercedes_benz_c_class_2012"
        assert label.display == "Mercedes Benz C Class 2012"
        assert sorted([label, CarLabel("audi", "s6", 2011)])[0].make == "audi"

    @pytest.mark.parametrize(
        "name", ["Audi S6 Sedan", "Audi S6 Sedan 12", "Audi S6 Sedan 1899", "Audi 2101", ""]
    )
    def test_no_year(self, name):
        with pytest.raises(ValueError, match=f"Stanford Cars class name '{name}' does not end"):
            parse_stanford_name(name)

    @pytest.mark.parametrize("folder", ["acura_rl", "acura_rl_20122", "acura_rl_2012x"])
    def test_vmmrdb_no_year(self, folder):
        with pytest.raises(ValueError, match=f"VMMRdb folder name '{folder}' does not end"):
            parse_vmmrdb_name(folder)

    @pytest.mark.parametrize("folder", ["acura_2012", "land_rover_2012", "land_rover_suv_2012"])
    def test_no_model(self, folder):
        with pytest.raises(ValueError, match=f"'{folder}' has no model"):
            parse_vmmrdb_name(folder)


WORDS = ["land", "rover", "am", "general", "ford", "f", "rs", "ram", "c", "v8", "12c", "150", "4"]
TOKEN = st.sampled_from([*WORDS, *sorted(BODY_STYLE_WORDS)])
SEPARATOR = st.sampled_from(["_", " ", "-", "/", ". "])


@given(
    tokens=st.lists(TOKEN, min_size=1, max_size=6),
    separators=st.lists(SEPARATOR, min_size=6, max_size=6),
    year=st.integers(1900, 2100),
)
def test_key_and_display_parse_back_to_the_label(tokens, separators, year):
    folder = "".join(t + s for t, s in zip(tokens, separators, strict=False)) + str(year)
    try:
        label = parse_vmmrdb_name(folder)
    except ValueError:
        return
    assert parse_vmmrdb_name(label.key) == label
    assert parse_stanford_name(label.display) == label
    assert parse_stanford_name(folder.replace("_", " ")) == label
    assert label.key == "_".join(canonical_tokens(label.key))


class TestMatch:
    def test_match(self):
        stanford = [
            "Chevrolet Silverado 1500 Extended Cab 2012",
            "Ford F-150 Regular Cab 2012",
            "Chevrolet Silverado 1500 Regular Cab 2012",
            "Rolls-Royce Phantom Drophead Coupe Convertible 2012",
            "Ford F-150 Regular Cab 2012",
            "Volvo 240 Sedan 1993",
        ]
        vmmrdb = [
            "ford_f150_2012",
            "chevrolet_silverado_1500_2012",
            "chevrolet_silverado 1500_2012",
            "rolls_royce_phantom_2012",
            "honda_civic ex_2005",
            "alfa_romeo_spider_1991",
        ]
        match = match_taxonomies(stanford, vmmrdb)
        assert match.matched == {
            "chevrolet_silverado_1500_2012": (
                [stanford[0], stanford[2]],
                ["chevrolet_silverado_1500_2012", "chevrolet_silverado 1500_2012"],
            ),
            "ford_f150_2012": ([stanford[1]], ["ford_f150_2012"]),
        }
        assert match.stanford_only == [stanford[3], "Volvo 240 Sedan 1993"]
        assert match.vmmrdb_only == vmmrdb[3:]
        assert match.summary() == (
            "2 classes matched across both sets (from 3 Stanford Cars and 3 VMMRdb classes); "
            "2 only in Stanford Cars; 3 only in VMMRdb"
        )
        assert match.match_rate == pytest.approx(6 / 11)

    def test_empty(self):
        match = match_taxonomies([], [])
        assert match.match_rate == 0.0
        assert match.summary().startswith("0 classes matched")

    def test_unparsable_name(self):
        with pytest.raises(ValueError, match="VMMRdb folder name 'misc' does not end"):
            match_taxonomies(["Audi S6 Sedan 2011"], ["misc"])


NAMES = ("Audi S4 Sedan 2007", "Audi S6 Sedan 2011", "BMW M3 Coupe 2012", "Volvo 240 Sedan 1993")


class TestCloseMatches:
    def test_best_first(self):
        assert close_matches("Audi S6 Sedan 2012", NAMES)[0] == "Audi S6 Sedan 2011"
        assert close_matches("audi_s6_2011", NAMES, n=1) == ["Audi S6 Sedan 2011"]

    def test_across_datasets_and_body_styles(self):
        folders = ["ford_f150_2012", "ford_f150_2007", "volvo_240_1993"]
        assert close_matches("Ford F-150 Regular Cab 2012", folders)[0] == "ford_f150_2012"
        both = ["Audi S5 Convertible 2012", "Audi S5 Coupe 2012", "Volvo 240 Sedan 1993"]
        assert close_matches("audi_s5_2012", both) == both[:2]

    def test_unparsable_and_nothing_close(self):
        assert close_matches("Audi S6", NAMES)[0] == "Audi S6 Sedan 2011"
        assert close_matches("zzzz", NAMES) == []


def test_all_stanford_cars_classes_parse():
    if not CARS_META.is_file():
        pytest.skip(f"{CARS_META} not found")
    scipy_io = pytest.importorskip("scipy.io")
    names = [str(name[0]) for name in scipy_io.loadmat(CARS_META)["class_names"][0]]
    assert len(names) == 196
    by_key: dict[str, list[str]] = {}
    for name in names:
        by_key.setdefault(parse_stanford_name(name).key, []).append(name)
    assert len(by_key) == 183
    for key, group in by_key.items():
        # Names of one key differ only in body style.
        body_free = {
            tuple(t for t in canonical_tokens(name) if t not in BODY_STYLE_WORDS) for name in group
        }
        assert len(body_free) == 1, (key, group)
