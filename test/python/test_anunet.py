# SPDX-License-Identifier: Apache-2.0
# Copyright NumFOCUS
"""Tests of the Python front end (import anunet) on the real CHAOS MR T2 images.

Run by CTest with PYTHONPATH set to the build tree's python/ folder; needs ANUNET_DATA_ROOT, ANUNET_CLI
(the anunet tool, whose output the module must reproduce) and ANUNET_TEST_TEMP.
"""
import json
import os
import pathlib
import subprocess
import tempfile
import threading
import time
import unittest

import nibabel
import numpy as np

import anunet

DATA = pathlib.Path(os.environ["ANUNET_DATA_ROOT"]) / "chaos-mr-t2"
CLI = os.environ["ANUNET_CLI"]
HERE = pathlib.Path(__file__).parent


class PythonFrontEndTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.scratch = tempfile.TemporaryDirectory(dir=os.environ.get("ANUNET_TEST_TEMP"))
        cls.out = pathlib.Path(cls.scratch.name)
        cls.model, cls.history = anunet.train(str(HERE.parent / "Input" / "tiny-train.yaml"), str(cls.out / "run"),
                                              data_root=str(DATA.parent))
        cls.image = anunet.read_image(str(DATA / "case33_t2.nii.gz"))
        cls.truth = anunet.read_image(str(DATA / "case33_labels.nii.gz"))

    @classmethod
    def tearDownClass(cls):
        cls.scratch.cleanup()

    def test_read_image_matches_nibabel(self):
        reference = nibabel.load(str(DATA / "case33_t2.nii.gz"))
        np.testing.assert_array_equal(self.image.array, np.asarray(reference.dataobj, dtype=np.float32).T)
        np.testing.assert_allclose(self.image.spacing, reference.header.get_zooms()[:3], rtol=1e-6)

    def test_train_returns_the_best_model_and_log(self):
        self.assertEqual(len(self.history), 1)
        self.assertEqual(self.history[0]["iterations"], 4)
        self.assertGreater(self.history[0]["seconds"], self.history[0]["data_seconds"])
        self.assertTrue((self.out / "run" / "best.pt").is_file())
        self.assertEqual(self.model.architecture, "anunet")
        self.assertEqual(self.model.maximum_level, 4)
        self.assertEqual(self.model.training["iterations"], 4)
        self.assertLess(self.model.parameter_count(1), self.model.parameter_count(4))

    def test_callbacks_see_the_run_and_an_exception_in_one_stops_it_resumably(self):
        config = str(HERE.parent / "Input" / "tiny-train.yaml")
        out = self.out / "stopped"
        steps, epochs = [], []

        class Enough(Exception):
            pass

        def on_epoch(record):
            epochs.append(record)
            raise Enough("one epoch is enough")

        with self.assertRaisesRegex(Enough, "one epoch is enough"):
            anunet.train(config, str(out), data_root=str(DATA.parent), epochs=2, progress=steps.append,
                         on_epoch=on_epoch)
        self.assertEqual([s["iteration"] for s in steps], [1, 2, 3, 4])
        self.assertEqual(steps[0]["total_iterations"], 8)
        self.assertEqual(len(epochs), 1)
        self.assertEqual(list(epochs[0]["per_case_dice"]), ["31"], "the log's {case: Dice} form")
        self.assertTrue((out / "last.pt").is_file(), "the stop writes last.pt at its step")
        with open(out / "log.jsonl") as log:
            self.assertEqual(json.loads(log.readline())["epoch"], 1)

        model, history = anunet.train(config, str(out), data_root=str(DATA.parent), epochs=2,
                                      resume=str(out / "last.pt"))
        self.assertEqual([r["iterations"] for r in history], [4, 8])
        self.assertEqual(history[0]["loss"], epochs[0]["loss"], "the resumed run continues the stopped one")
        self.assertEqual(model.training["iterations"], 8)

    def test_distributed_training_names_a_malformed_environment(self):
        saved = {k: os.environ.get(k) for k in ("WORLD_SIZE", "RANK")}
        os.environ.update(WORLD_SIZE="2", RANK="5")
        try:
            with self.assertRaisesRegex(ValueError, "RANK='5'"):
                anunet.train(str(HERE.parent / "Input" / "tiny-train.yaml"), str(self.out / "ddp"),
                             data_root=str(DATA.parent), distributed=True)
        finally:
            for k, v in saved.items():
                os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        self.assertFalse((self.out / "ddp").exists(), "nothing is written before the options are checked")

    def test_segment_equals_the_command_line_tool(self):
        for level in (1, 4):
            labels = anunet.segment(self.model, self.image, level=level, threads=2)
            self.assertEqual(labels.array.dtype, np.uint8)
            self.assertEqual(labels.array.shape, self.image.array.shape)
            self.assertEqual(tuple(labels.spacing), tuple(self.image.spacing))
            written = self.out / f"cli_L{level}.nii.gz"
            subprocess.run([CLI, "segment", "--model", str(self.out / "run" / "best.pt"), "--input",
                            str(DATA / "case33_t2.nii.gz"), "--output", str(written), "--level", str(level),
                            "--threads", "2"], check=True, capture_output=True)
            np.testing.assert_array_equal(labels.array, np.asarray(nibabel.load(str(written)).dataobj).T)

    def test_bfloat16_agrees_with_float32_where_the_cpu_has_it(self):
        # The committed liver model: trained, so that its probabilities sit far from 0.5 except at boundaries.
        model = anunet.Model.load(str(HERE.parent.parent / "data" / "models" / "chaos-t2-liver-small.pt"))
        with self.assertRaisesRegex(ValueError, "precision='half'"):
            anunet.segment(model, self.image, precision="half")
        if not anunet.cpu_has_bfloat16():
            with self.assertRaisesRegex(ValueError, "avx512_bf16"):
                anunet.segment(model, self.image, precision="bfloat16")
            return
        single = anunet.segment(model, self.image, threads=2).array
        half = anunet.segment(model, self.image, threads=2, precision="bfloat16").array
        self.assertLess(np.mean(single != half), 0.005)
        truth = self.truth.array == 1

        def dice(labels):
            return 2 * np.logical_and(labels > 0, truth).sum() / ((labels > 0).sum() + truth.sum())

        self.assertGreater(dice(single), 0.8)
        self.assertAlmostEqual(dice(half), dice(single), delta=0.005)
        written = self.out / "cli_bf16.nii.gz"
        subprocess.run([CLI, "segment", "--model", str(HERE.parent.parent / "data" / "models" /
                                                       "chaos-t2-liver-small.pt"),
                        "--input", str(DATA / "case33_t2.nii.gz"), "--output", str(written), "--threads", "2",
                        "--precision", "bfloat16"], check=True, capture_output=True)
        np.testing.assert_array_equal(half, np.asarray(nibabel.load(str(written)).dataobj).T)

    def test_two_threads_segment_at_once_and_the_gil_is_free_meanwhile(self):
        alone = [anunet.segment(self.model, self.image, level=level, threads=1).array for level in (2, 4)]
        results, spans, errors = {}, {}, []

        def work(level):
            try:
                start = time.monotonic()
                results[level] = anunet.segment(self.model, self.image, level=level, threads=1).array
                spans[level] = (start, time.monotonic())
            except Exception as e:  # noqa: BLE001 - reported below, in the test's thread
                errors.append(e)

        workers = [threading.Thread(target=work, args=(level,)) for level in (2, 4)]
        ticks = []
        for w in workers:
            w.start()
        while any(w.is_alive() for w in workers):
            ticks.append(time.monotonic())  # only runs while the segmenting threads have let go of the GIL
            time.sleep(0.001)
        for w in workers:
            w.join()
        self.assertEqual(errors, [])
        for level, expected in zip((2, 4), alone):
            np.testing.assert_array_equal(results[level], expected, err_msg=f"level {level} in a thread")
        start, end = spans[4]
        inside = [t for t in ticks if start + 0.05 < t < end - 0.05]
        self.assertGreater(len(inside), 5, "the main thread never ran while segment() was busy: the GIL was held")

    def test_probabilities_threshold_to_the_labels(self):
        labels = anunet.segment(self.model, self.image, level=2)
        probability = anunet.segment(self.model, self.image, level=2, probability=True)
        self.assertEqual(probability.array.dtype, np.float32)
        self.assertGreaterEqual(probability.array.min(), 0.0)
        self.assertLessEqual(probability.array.max(), 1.0)
        np.testing.assert_array_equal(labels.array, (probability.array > 0.5).astype(np.uint8))

    def test_evaluate_matches_numpy(self):
        prediction = anunet.segment(self.model, self.image, level=4)
        liver = self.truth == 1
        metrics = anunet.evaluate(prediction, liver, label=1)[1]
        a, g = prediction.array > 0, liver.array
        self.assertAlmostEqual(metrics["dice"], 2 * (a & g).sum() / (a.sum() + g.sum()), places=12)
        self.assertAlmostEqual(metrics["recall"], (a & g).sum() / g.sum(), places=12)
        perfect = anunet.evaluate(liver, liver)[1]
        self.assertEqual(perfect["dice"], 1.0)
        self.assertEqual(perfect["hausdorff_mm"], 0.0)

    def test_write_round_trip_keeps_values_and_geometry(self):
        path = self.out / "liver.nii.gz"
        (self.truth == 1).write(str(path))
        back = anunet.read_image(str(path))
        np.testing.assert_array_equal(back.array, (self.truth.array == 1).astype(np.float32))
        np.testing.assert_allclose(back.spacing, self.truth.spacing, rtol=1e-6)
        np.testing.assert_allclose(back.origin, self.truth.origin, atol=1e-4)

    def test_bad_input_names_the_problem(self):
        # Missing paths are FileNotFoundError (an OSError), as Python's own open() raises.
        with self.assertRaisesRegex(FileNotFoundError, "no_such_case.nii.gz"):
            anunet.read_image(str(DATA / "no_such_case.nii.gz"))
        with self.assertRaisesRegex(FileNotFoundError, "no_such_folder"):
            self.truth.write(str(self.out / "no_such_folder" / "labels.nii.gz"))
        with self.assertRaisesRegex(FileNotFoundError, "missing.yaml"):
            anunet.train(str(self.out / "missing.yaml"), str(self.out / "never"))
        with self.assertWarnsRegex(UserWarning, "without flips"):
            anunet.segment(self.model, self.image, level=1, mirror=True, threads=2)
        with self.assertRaisesRegex(ValueError, "probabilit"):
            anunet.segment(self.model, self.image, probability=True, largest_component=True)
        # A file that exists but is no image stays the reader's error, naming the file.
        garbage = self.out / "garbage.nii.gz"
        garbage.write_bytes(b"not an image")
        with self.assertRaisesRegex(RuntimeError, "garbage.nii.gz"):
            anunet.read_image(str(garbage))
        with self.assertRaisesRegex(ValueError, "2-D or 3-D"):
            anunet.segment(self.model, anunet.Image(np.zeros((1, 2, 8, 8), np.float32)))
        with self.assertRaisesRegex(ValueError, "different shapes"):
            anunet.evaluate(self.truth == 1, anunet.Image(np.zeros((2, 8, 8), np.uint8)))
        with self.assertRaisesRegex(FileNotFoundError, "missing.pt"):
            anunet.Model.load(str(self.out / "missing.pt"))
        self.assertFalse((self.out / "never").exists())


if __name__ == "__main__":
    unittest.main(verbosity=2)
