import pytest

from hqnn_lightning.data.class_selection import select_classes

NAMES = ["Audi S4 Sedan 2007", "Audi S6 Sedan 2011", "BMW M3 Coupe 2012", "Volvo 240 Sedan 1993"]
COUNTS = dict(zip(NAMES, [5, 9, 9, 2], strict=True))


class TestSelectClasses:
    def test_all_by_default(self):
        assert select_classes(NAMES, COUNTS) == NAMES

    def test_first_k(self):
        assert select_classes(NAMES, COUNTS, num_classes=3) == NAMES[:3]

    def test_most_images_ties_in_dataset_order_and_result_in_dataset_order(self):
        chosen = select_classes(NAMES, COUNTS, num_classes=3, class_selection="most_images")
        assert chosen == ["Audi S4 Sedan 2007", "Audi S6 Sedan 2011", "BMW M3 Coupe 2012"]
        assert select_classes(NAMES, COUNTS, num_classes=2, class_selection="most_images") == [
            "Audi S6 Sedan 2011",
            "BMW M3 Coupe 2012",
        ]

    def test_random_is_seeded(self):
        draws = {
            tuple(select_classes(NAMES, COUNTS, num_classes=2, class_selection="random", seed=s))
            for s in range(20)
        }
        again = select_classes(NAMES, COUNTS, num_classes=2, class_selection="random", seed=3)
        assert again == select_classes(
            NAMES, COUNTS, num_classes=2, class_selection="random", seed=3
        )
        assert len(draws) > 1

    def test_named_classes_keep_dataset_order(self):
        chosen = select_classes(NAMES, COUNTS, classes=["Volvo 240 Sedan 1993", NAMES[0]])
        assert chosen == [NAMES[0], "Volvo 240 Sedan 1993"]

    def test_unknown_class_suggests_close_matches(self):
        with pytest.raises(ValueError, match="did you mean 'Audi S6 Sedan 2011'"):
            select_classes(NAMES, COUNTS, classes=["Audi S6 Sedan 2012"])

    @pytest.mark.parametrize("k", [1, 5])
    def test_k_out_of_range(self, k):
        with pytest.raises(ValueError, match="between 2 and the dataset's 4"):
            select_classes(NAMES, COUNTS, num_classes=k)

    def test_unknown_rule(self):
        with pytest.raises(ValueError, match="unknown class_selection 'best'"):
            select_classes(NAMES, COUNTS, num_classes=2, class_selection="best")

    def test_classes_and_k_must_agree(self):
        with pytest.raises(ValueError, match="num_classes=3 but 1 classes"):
            select_classes(NAMES, COUNTS, classes=[NAMES[0]], num_classes=3)
