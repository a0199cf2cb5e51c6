from setuptools import find_packages, setup

setup(
    name="acme-ini",
    version="0.4.0",
    description="Checks INI files against a list of required keys",
    packages=find_packages(exclude=["tests", "tests.*"]),
    python_requires=">=3.8",
    install_requires=[],
    extras_require={"test": ["pytest>=7"]},
)
