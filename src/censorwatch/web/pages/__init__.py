"""One module per page kind (datasette's views/): each builds its data with the query layer and
registers its HTML route and the route's `.json` twin."""
