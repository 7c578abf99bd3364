"""Raw SQL of the rebates app: named functions, parameters bound; nothing else in rebates calls cursor.execute."""
