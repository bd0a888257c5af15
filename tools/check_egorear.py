"""Run the authors' released EgoRear code, unmodified, on an egorig Ego4View export and compare what it sees with
the export's labels.

    pip install einops natsort loguru        # EgoRear's own requirements beyond torch, numpy, PIL and cv2
    git clone https://github.com/hiroyasuakada/EgoRear /path/to/EgoRear
    python tools/check_egorear.py --egorear /path/to/EgoRear --export out/e4v [--json report.json]

What runs from their checkout (imported from it, nothing copied or edited):
- `generate_heatmap.py` as a script, on a copy of the export: its rewritten heatmaps must equal the exported ones;
- `pose_estimation.datasets.dataset.get_dataset` for every dataset type of the layout, split and camera_pos: frame
  counts, and every item's images, heatmaps, 3D poses and (RW) device-to-camera matrices against the export, each
  pose3d item's gt_pose also through their camera model onto our 2D points; a label-only export is read from a
  scratch copy with placeholder images (its labels are compared, no pixel is);
- `pose_estimation.utils.camera_models.FishEyeCameraCalibratedModel` with the export's camera_calib/ (and, for the
  Syn layout, also their shipped Ego4View calibrations): every in-image joint's projection against the exported
  camera_<view>_pts2d, in px at 872.

Two stand-ins make their code run on a machine without CUDA or torchvision (PyPI's torchvision does not import
beside this torch): a `torchvision.transforms` module with the ToTensor / Normalize / Compose their loaders use, and
their `torch.tensor(..., device="cuda")` calls land on the CPU when CUDA is unavailable.
Exit status 0 when every check passes (projection within --tol-px), 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
import torch

VIEWS = ("front_left", "front_right", "back_left", "back_right")
JOINTS = ("Head", "Neck", "LeftArm", "RightArm", "LeftForeArm", "RightForeArm", "LeftHand", "RightHand",
          "LeftUpLeg", "RightUpLeg", "LeftLeg", "RightLeg", "LeftFoot", "RightFoot", "LeftToeBase", "RightToeBase")
SPLITS = ("train", "validation", "test")
IMAGE_PX = 872
NET_INPUT_PX = 256


def install_stand_ins() -> None:
    """torchvision.transforms (the three classes their loaders use) and CUDA tensors on the CPU when needed."""
    if "torchvision" not in sys.modules:
        tv = types.ModuleType("torchvision")
        tr = types.ModuleType("torchvision.transforms")

        class ToTensor:
            def __call__(self, img):
                arr = np.asarray(img, dtype=np.float32) / 255.0
                return torch.from_numpy(arr.transpose(2, 0, 1).copy())

        class Normalize:
            def __init__(self, mean, std):
                self.mean = torch.tensor(mean, dtype=torch.float32)[:, None, None]
                self.std = torch.tensor(std, dtype=torch.float32)[:, None, None]

            def __call__(self, x):
                return (x - self.mean) / self.std

        class Compose:
            def __init__(self, steps):
                self.steps = list(steps)

            def __call__(self, x):
                for step in self.steps:
                    x = step(x)
                return x

        tr.ToTensor, tr.Normalize, tr.Compose = ToTensor, Normalize, Compose
        tv.transforms = tr
        sys.modules["torchvision"], sys.modules["torchvision.transforms"] = tv, tr
    if not torch.cuda.is_available():
        original = torch.tensor

        def tensor(*args, **kwargs):
            if str(kwargs.get("device", "")).startswith("cuda"):
                kwargs["device"] = "cpu"
            return original(*args, **kwargs)

        torch.tensor = tensor


def frame_records(export: Path, layout: str) -> dict[str, dict]:
    """Every exported frame JSON (path -> record), found with the export's own manifest."""
    manifest = json.loads((export / "egorig_export.json").read_text())
    json_dir = "json_smplx_gendered" if layout == "syn" else "json_smplx"
    out = {}
    for seq in manifest["sequences"]:
        for path in sorted((export / seq["path"] / json_dir).glob("*.json")):
            out[str(path)] = json.loads(path.read_text())
    return out


def check_heatmap_script(egorear: Path, export: Path, layout: str) -> dict:
    """generate_heatmap.py on a copy of the export rewrites fisheye_hm/: the files must not change."""
    with tempfile.TemporaryDirectory(prefix="egorear_hm_") as tmp:  # no '-' in the path (RW metadata rule)
        copy = Path(tmp) / "export"
        shutil.copytree(export, copy, ignore=shutil.ignore_patterns("fisheye_rgb"))
        for npy in copy.rglob("fisheye_hm/*/*.npy"):
            npy.unlink()
        proc = subprocess.run([sys.executable, str(egorear / "generate_heatmap.py"), "--data_dir_path", str(copy),
                               "--dataset_type", layout], capture_output=True, text=True)
        if proc.returncode != 0:
            return {"ok": False, "error": proc.stderr.strip().splitlines()[-1:]}
        ours = sorted(export.rglob("fisheye_hm/*/*.npy"))
        differ = [str(p.relative_to(export)) for p in ours
                  if not np.array_equal(np.load(p), np.load(copy / p.relative_to(export)))]
        return {"ok": not differ and bool(ours), "files": len(ours), "differ": differ[:5]}


def placeholder_images(export: Path, layout: str, records: dict[str, dict], into: Path) -> Path:
    """A copy of a label-only export with a mid-grey image wherever their loaders open one, so that their datasets
    return items and the labels they read can be compared (the pixels themselves are not checked then)."""
    from PIL import Image

    copy = into / "export"
    shutil.copytree(export, copy)
    json_dir = "json_smplx_gendered" if layout == "syn" else "json_smplx"
    suffix = ".jpg" if layout == "syn" else ".png"
    size = tuple(json.loads((export / "egorig_export.json").read_text())["render_image_size_px"])
    grey = Image.new("RGB", size, (128, 128, 128))
    for path in records:
        rel = Path(path).relative_to(export)
        for view in VIEWS:
            dst = copy / str(rel).replace(json_dir, f"fisheye_rgb/camera_{view}")
            dst = dst.with_suffix(suffix)
            dst.parent.mkdir(parents=True, exist_ok=True)
            grey.save(dst)
    return copy


def check_datasets(egorear: Path, export: Path, layout: str, records: dict[str, dict], calib_dir: Path) -> dict:
    """Their get_dataset for each type, split and camera_pos: frame counts, and every item against the export
    (images, heatmaps, 3D poses, RW matrices; pose3d items also through their camera model onto our 2D points).
    A label-only export is read from a copy with placeholder images."""
    sys.path.insert(0, str(egorear))
    from pose_estimation.datasets.dataset import get_dataset

    manifest = json.loads((export / "egorig_export.json").read_text())
    per_split = {s: 0 for s in SPLITS}
    for seq in manifest["sequences"]:
        per_split[{"val": "validation"}.get(seq["split"], seq["split"])] += seq["frames"]
    with tempfile.TemporaryDirectory(prefix="egorear_ds_") as tmp:
        root = export if manifest["images"] else placeholder_images(export, layout, records, Path(tmp))
        result: dict = {"ok": True, "images": "exported" if manifest["images"] else "placeholders",
                        "frames_per_split": per_split, "items_compared": 0, "pose3d_max_px": 0.0, "checked": []}
        models = _camera_models(egorear, layout, calib_dir)
        for kind in ("heatmap", "heatmap_mvf", "pose3d"):
            for split in SPLITS:
                for pos in ("front", "back") if kind == "heatmap" else ("front", "back", "all"):
                    ds = get_dataset(f"ego4view_{layout}_{kind}", str(root), split, camera_pos=pos)
                    want = per_split[split] * (2 if kind == "heatmap" else 1)
                    entry = {"type": kind, "split": split, "camera_pos": pos, "items": len(ds), "expected": want}
                    ok = len(ds) == want
                    for i in range(len(ds)):
                        agrees, px = _item_agrees(ds[i], records, kind, pos, export, root, layout, models)
                        ok &= agrees
                        result["items_compared"] += 1
                        result["pose3d_max_px"] = max(result["pose3d_max_px"], px)
                    entry["ok"] = bool(ok)
                    result["ok"] &= bool(ok)
                    result["checked"].append(entry)
    return result


def _camera_models(egorear: Path, layout: str, calib_dir: Path) -> dict:
    sys.path.insert(0, str(egorear))
    from pose_estimation.utils.camera_models import FishEyeCameraCalibratedModel

    return {view: FishEyeCameraCalibratedModel(f"ego4view_{layout}", str(calib_dir), f"camera_{view}")
            for view in VIEWS}


def _item_agrees(item: dict, records: dict[str, dict], kind: str, pos: str, export: Path, root: Path, layout: str,
                 models: dict) -> tuple[bool, float]:
    """Whether one loader item holds the export's data; and for pose3d items, how far (px at 872) their camera
    model puts the item's gt_pose (through the item's own matrices for RW) from our in-image 2D points."""
    path = str(export / Path(item["frame_path"]).relative_to(root))
    record = records[path]
    json_dir = "json_smplx_gendered" if layout == "syn" else "json_smplx"
    views = {"front": VIEWS[:2], "back": VIEWS[2:], "all": VIEWS}[pos]
    if kind == "heatmap":
        views = (VIEWS[int(item["view"])],)
    ok = tuple(item["img"].shape) == (len(views), 3, NET_INPUT_PX, NET_INPUT_PX)
    ok &= bool(torch.isfinite(item["img"]).all())
    ok &= tuple(item["gt_heatmap"].shape) == (len(views), len(JOINTS) - 1, 64, 64)
    for k, view in enumerate(views):
        hm = np.load(path.replace(json_dir, f"fisheye_hm/camera_{view}").replace(".json", ".npy"))
        ok &= np.array_equal(item["gt_heatmap"][k].numpy(), hm[1:])
    worst = 0.0
    if kind == "pose3d":
        device = np.array([record["joints"][j]["device_pts3d"] for j in JOINTS])
        ok &= np.allclose(item["gt_pose"].numpy(), device, atol=1e-9)
        if layout == "rw":
            meta = json.loads(Path(path.split("-")[0] + "_metadata.json").read_text())
            for k, view in enumerate(views):
                ok &= np.allclose(item["coord_trans_mat"][k].numpy(),
                                  meta["coord_transformation_matrix"][f"device_to_camera_{view}"], atol=1e-12)
        for k, view in enumerate(views):
            pose = item["gt_pose"][None].clone()  # their Syn model changes its input in place
            mats = item["coord_trans_mat"][k][None] if layout == "rw" else None
            uv = models[view].world2camera_pytorch(pose, mats)[0][0, 0].double().numpy() * IMAGE_PX
            ours = np.array([record["joints"][j][f"camera_{view}_pts2d"] for j in JOINTS])
            vis = np.array(record["egorig"]["visibility"][f"camera_{view}"]) != 0
            if vis.any():
                worst = max(worst, float(np.max(np.linalg.norm(uv - ours, axis=-1)[vis])))
    return bool(ok), worst


def check_camera_model(egorear: Path, export: Path, layout: str, records: dict[str, dict], calib_dir: Path) -> dict:
    """Their camera model on the exported device_pts3d vs the exported pts2d (in-image joints), px at 872."""
    sys.path.insert(0, str(egorear))
    from pose_estimation.utils.camera_models import FishEyeCameraCalibratedModel

    paths = sorted(records)
    device = torch.tensor(np.array([[records[p]["joints"][j]["device_pts3d"] for j in JOINTS] for p in paths]),
                          dtype=torch.float64)
    worst: dict[str, float] = {}
    for v, view in enumerate(VIEWS):
        model = FishEyeCameraCalibratedModel(f"ego4view_{layout}", str(calib_dir), f"camera_{view}")
        mats = None
        if layout == "rw":
            mats = torch.tensor(np.array([json.loads(Path(p.split("-")[0] + "_metadata.json").read_text())
                                          ["coord_transformation_matrix"][f"device_to_camera_{view}"] for p in paths]),
                                dtype=torch.float64)
        pts = device.clone()  # their Syn model changes its input in place
        uv_n, _ = model.world2camera_pytorch(pts, mats)
        uv = uv_n[:, 0].double().numpy() * IMAGE_PX  # (F, 16, 2): normalised by size, clamped to [0, 1]
        ours = np.array([[records[p]["joints"][j][f"camera_{view}_pts2d"] for j in JOINTS] for p in paths])
        vis = np.array([records[p]["egorig"]["visibility"][f"camera_{view}"] for p in paths]) != 0
        worst[view] = float(np.max(np.linalg.norm(uv - ours, axis=-1)[vis])) if vis.any() else 0.0
    out = {"calib_dir": str(calib_dir), "max_px": worst}
    if layout == "syn":  # their 3D stage projects one anchor tensor through the four cameras in turn
        shared = device.clone()
        shared_worst = {}
        for view in VIEWS:
            model = FishEyeCameraCalibratedModel("ego4view_syn", str(calib_dir), f"camera_{view}")
            uv = model.world2camera_pytorch(shared)[0][:, 0].double().numpy() * IMAGE_PX
            ours = np.array([[records[p]["joints"][j][f"camera_{view}_pts2d"] for j in JOINTS] for p in paths])
            vis = np.array([records[p]["egorig"]["visibility"][f"camera_{view}"] for p in paths]) != 0
            shared_worst[view] = float(np.max(np.linalg.norm(uv - ours, axis=-1)[vis])) if vis.any() else 0.0
        out["max_px_one_shared_tensor"] = shared_worst
        out["shared_tensor_moved_cm"] = float((shared - device).abs().max())
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--egorear", required=True, type=Path, help="a checkout of hiroyasuakada/EgoRear")
    parser.add_argument("--export", required=True, type=Path, help="an egorig `synth export ego4view` directory")
    parser.add_argument("--tol-px", type=float, default=0.5, help="largest projection error accepted (px at 872)")
    parser.add_argument("--json", type=Path, default=None, help="write the report here")
    args = parser.parse_args(argv)
    export = args.export.absolute()
    layout = json.loads((export / "egorig_export.json").read_text())["layout"]
    install_stand_ins()
    os.chdir(args.egorear)  # their modules expect to run from the repository root
    records = frame_records(export, layout)
    report = {"export": str(export), "layout": layout, "frames": len(records),
              "heatmap_script": check_heatmap_script(args.egorear.absolute(), export, layout),
              "datasets": check_datasets(args.egorear.absolute(), export, layout, records,
                                          export / "camera_calib"),
              "camera_model": [check_camera_model(args.egorear.absolute(), export, layout, records,
                                                  export / "camera_calib")]}
    if layout == "syn":  # their default config: the shipped Ego4View calibrations
        shipped = args.egorear.absolute() / "pose_estimation/utils/camera_calib_file/ego4view"
        report["camera_model"].append(check_camera_model(args.egorear.absolute(), export, layout, records, shipped))
    ok = (report["heatmap_script"]["ok"] and report["datasets"]["ok"]
          and max(report["camera_model"][0]["max_px"].values()) <= args.tol_px
          and report["datasets"]["pose3d_max_px"] <= args.tol_px)
    report["ok"] = bool(ok)
    text = json.dumps(report, indent=2)
    if args.json:
        args.json.write_text(text + "\n")
    print(text if not ok else json.dumps({k: report[k] for k in ("export", "layout", "frames", "ok")}
                                         | {"camera_model_max_px": [c["max_px"] for c in report["camera_model"]]}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
