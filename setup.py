"""Install axsim: the SPARCE engine, the SASA compiler and the software approximation models."""
from setuptools import find_packages, setup

setup(
    name="axsim",
    version="0.1.0",
    description="Approximate computing for DNNs: SPARCE engine, SASA compiler, software models",
    python_requires=">=3.10",
    packages=find_packages(include=["axsim*", "isa_ext*", "kernels*", "sasa_compiler*",
                                    "sparce_sim*", "gem5_configs*", "sw_models*", "analysis*"]),
    package_data={"kernels": ["*.S", "*.c", "*.h", "*.ld"], "isa_ext": ["*.inc", "gem5/*", "gem5/*/*", "gem5/src/*/*/*", "gem5/src/*/*/*/*"]},
    install_requires=[
        "numpy", "scipy", "pandas", "matplotlib", "tqdm",
        "unicorn>=2.1", "capstone>=5.0", "pyelftools",
        "onnx", "onnxruntime", "scikit-learn", "torch==2.13.0",
    ],
    extras_require={"test": ["pytest", "hypothesis", "foolbox==3.3.4"]},
    entry_points={"console_scripts": ["axsim=axsim.cli:main"]},
)
