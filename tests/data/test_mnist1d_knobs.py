"""MNIST-1D's difficulty settings: passed to the generator, cached per setting, validated."""

import numpy as np
import pytest

import dnas.data


def test_noise_setting_reaches_the_generator_and_has_its_own_cache(tmp_path):
    from mnist1d.data import get_dataset_args, make_dataset

    noisy = dnas.data.load("mnist1d", cache_dir=tmp_path, num_samples=200, iid_noise_scale=0.1,
                           corr_noise_scale=0.5)
    args = get_dataset_args()
    args.num_samples, args.iid_noise_scale, args.corr_noise_scale = 200, 0.1, 0.5
    expected = make_dataset(args)
    np.testing.assert_array_equal(noisy.X_train[:, 0].numpy(), np.asarray(expected["x"], "f4"))
    plain = dnas.data.load("mnist1d", cache_dir=tmp_path, num_samples=200)
    assert not np.array_equal(plain.X_train.numpy(), noisy.X_train.numpy())
    assert len(list(tmp_path.glob("mnist1d-*.npz"))) == 2


@pytest.mark.parametrize("option,value", [("iid_noise_scale", -0.1), ("shear_scale", "big"),
                                          ("max_translation", 1.5)])
def test_bad_settings_name_the_option(tmp_path, option, value):
    with pytest.raises(ValueError, match=option):
        dnas.data.load("mnist1d", cache_dir=tmp_path, num_samples=200, **{option: value})
