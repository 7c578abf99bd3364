"""generate_book: the generated book (customers, agreements, products, purchases, buying groups, two currencies,
lines in boxes and cases); the same command as generate_synthetic, under the name the benchmarks' docs use."""

from rebates.management.commands.generate_synthetic import Command as GenerateSynthetic


class Command(GenerateSynthetic):
    help = GenerateSynthetic.help.replace("Generate synthetic data", "Generate the synthetic book", 1)
