from propadmin import create_app

app = create_app()
